"""Writing export records out: JSON Lines and CSV, safe to open in a spreadsheet.

The records come from `crawler.store.queries`; their fields are a public contract
(docs/exports.md, "Fields"): add, never rename.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable
from typing import IO, Any

from crawler.store.queries import FIELDS, LIST_SEPARATOR

__all__ = ["write_csv", "write_jsonl"]

# Spreadsheets run a cell that starts with one of these as a formula: scraped text is hostile.
# They also skip leading whitespace (a newline, a no-break space...) before the sign, so the
# test is made after it (see `_cell`).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and (
        value.startswith(FORMULA_START) or _visible_start(value).startswith(FORMULA_START)
    ):
        return "'" + value
    return value


def _visible_start(value: str) -> str:
    """`value` without its leading whitespace (any Unicode space, line break...) and
    invisible format characters (zero-width space, byte order mark, soft hyphen)."""
    for index, char in enumerate(value):
        if not (char.isspace() or unicodedata.category(char) == "Cf"):
            return value[index:]
    return ""


def write_csv(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Same columns as JSONL; lists joined by `|`, `matches` as topic:term;term|topic:term,
    `review` as its JSON object.

    A text cell that a spreadsheet would run as a formula gets a leading `'`.
    """
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        row = dict(record)
        row["seen_urls"] = LIST_SEPARATOR.join(record["seen_urls"])
        row["topics"] = LIST_SEPARATOR.join(record["topics"])
        row["matches"] = LIST_SEPARATOR.join(
            f"{topic}:{';'.join(terms)}" for topic, terms in record["matches"].items()
        )
        if record["review"] is not None:
            row["review"] = json.dumps(record["review"], ensure_ascii=False)
        writer.writerow({key: _cell(value) for key, value in row.items()})
        count += 1
    return count
