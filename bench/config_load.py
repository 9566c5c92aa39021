"""Loading a large sources.yaml: ruamel.yaml's safe loader as `crawler.config.files` uses it
(libyaml's parser from ruamel.yaml.clib), against pure-Python ruamel.yaml and, where it is
installed, PyYAML's CSafeLoader, which read the config before ruamel.yaml did both jobs.

    python bench/config_load.py [--sources 10000] [--rounds 5]

Prints seconds (best of the rounds) and ratios to the first reference measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.config.files import _read_yaml, _safe_yaml, load_config  # noqa: E402


def sources_text(count: int) -> str:
    lines = ["# a large sources.yaml, as an OPML import writes it", "sources:"]
    for n in range(count):
        lines += [
            f"  - name: site{n}  # imported",
            f"    url: https://site{n}.example.org/feed.xml",
            "    every: 15m",
            "    tags: [news, world]",
            "    enabled: true",
        ]
    return "\n".join(lines) + "\n"


def timed(load: Callable[[], Any], count: int) -> float:
    start = time.perf_counter()
    data = load()
    seconds = time.perf_counter() - start
    assert len(data["sources"]) == count
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    text = sources_text(args.sources)
    loaders: dict[str, Callable[[], Any]] = {}
    try:
        import yaml  # only for comparison: newsmon no longer depends on PyYAML

        class UniqueKeyLoader(yaml.CSafeLoader):
            """The loader newsmon used before: CSafeLoader refusing a key written twice."""

        def mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
            keys = [loader.construct_object(key) for key, _ in node.value]
            assert len(set(keys)) == len(keys)
            return loader.construct_mapping(node)

        UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
        loaders["PyYAML CSafeLoader, unique keys (before)"] = lambda: yaml.load(
            text, Loader=UniqueKeyLoader
        )
        loaders["PyYAML CSafeLoader"] = lambda: yaml.load(text, Loader=yaml.CSafeLoader)
    except (ImportError, AttributeError):
        print("PyYAML with libyaml not installed: no PyYAML reference")
    pure = YAML(typ="safe", pure=True)
    pure.version = (1, 1)
    loaders["ruamel.yaml, pure Python"] = lambda: pure.load(text)
    used = _safe_yaml()
    loaders["ruamel.yaml as newsmon loads (C parser)"] = lambda: used.load(text)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "sources.yaml").write_text(text, encoding="utf-8")
        (directory / "topics.yaml").write_text("topics: []\n", encoding="utf-8")
        loaders["_read_yaml (file, unique keys)"] = lambda: _read_yaml(
            directory / "sources.yaml", required=True
        )
        # Rounds of one load each, best of the rounds: a busy machine slows them alike.
        best = dict.fromkeys(loaders, float("inf"))
        for _ in range(args.rounds):
            for label, load in loaders.items():
                best[label] = min(best[label], timed(load, args.sources))
        print(f"{args.sources:,} sources, {len(text) / 2**20:.1f} MiB, best of {args.rounds}")
        reference, first = next(iter(best.items()))
        for label, seconds in best.items():
            print(f"  {label:42} {seconds:6.2f} s  {seconds / first:4.1f}x {reference}")
        start = time.perf_counter()
        config = load_config(directory)
        assert len(config.sources) == args.sources
        print(f"  load_config (YAML and validation)        {time.perf_counter() - start:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
