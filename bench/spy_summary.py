"""Summarise a py-spy profile in raw (collapsed stacks) form: where a process spends its time.

    py-spy record --format raw --subprocesses -o crawl.txt -- python -m crawler crawl ...
    python bench/spy_summary.py crawl.txt

Prints the share of samples per process, per package (a sample counts once for each package
on its stack: inclusive) and per function (the innermost frame: self time).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# A frame as py-spy writes it: "function (package/module.py:line)".
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PROCESS = re.compile(r'^process \d+:"(?P<command>.*)')


def package(path: str) -> str:
    """The top package of a frame's file ("trafilatura/core.py" is trafilatura)."""
    return path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")


def summarise(lines: list[str], top: int = 25) -> str:
    processes: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        # Process frames (with --subprocesses) carry command lines, which may hold ";".
        commands = [m["command"] for f in stack.split(";") if (m := _PROCESS.match(f))]
        frames = [m for f in stack.split(";") if (m := _FRAME.match(f))]
        role = "main process" if len(commands) <= 1 else f"child: {commands[-1][:60]}"
        processes[role] += samples
        for name in {package(frame["file"]) for frame in frames}:
            packages[name] += samples
        if frames:
            leaf = frames[-1]
            functions[f"{leaf['function']} ({leaf['file']})"] += samples
    out = [f"{total} samples"]
    for title, counter in (
        ("processes", processes),
        ("packages, inclusive", packages),
        ("functions, self", functions),
    ):
        out += ["", f"## {title}"]
        out += [f"{n / total:6.1%}  {name}" for name, n in counter.most_common(top)]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()))
