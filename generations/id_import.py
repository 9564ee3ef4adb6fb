"""Reading generation ids out of whatever people hand us: pasted text, .txt, .csv, .json, .jsonl.

Pure functions, no database: the bulk page, the ``import_generations`` command and the tests
all share them. Every id is checked with ``clean_generation_id``; a value that fails is
reported with where it was (line, or item of a JSON array) and why, never silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from generations.client import InvalidGenerationId, clean_generation_id

# Header names that mean "this column holds generation ids", best first.
ID_COLUMN_NAMES = ("generation_id", "generation id", "generationid", "generation", "id")
DEFAULT_JSON_KEYS = ("id", "generation_id")
_PASTE_SEPARATORS = re.compile(r"[,;\s]+")
_ID_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:]{5,}")
_EXCERPT = 60


class UnreadableImport(ValueError):
    """The input as a whole cannot be read (empty, binary, not UTF-8, too big, no such column…)."""

    def __init__(self, message: str) -> None:
        self.user_message = message
        super().__init__(message)


@dataclass(frozen=True)
class InvalidEntry:
    location: str  # "line 4", "line 7, column “id”", "item 3"
    value: str  # a short, printable excerpt
    reason: str


@dataclass
class ParsedIds:
    """Unique valid ids in first-seen order, and everything that was not one."""

    format: str
    ids: list[str] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    duplicates: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def found(self) -> int:
        """Every valid id seen, repeats included."""
        return len(self.ids) + self.duplicates

    def add(self, raw: Any, location: str) -> None:
        if not isinstance(raw, str):
            self.invalid.append(InvalidEntry(location, _excerpt(raw), "not text"))
            return
        try:
            generation_id = clean_generation_id(raw)
        except InvalidGenerationId as error:
            self.invalid.append(InvalidEntry(location, _excerpt(raw), error.user_message))
            return
        if generation_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(generation_id)
        self.ids.append(generation_id)

    def reject(self, location: str, raw: Any, reason: str) -> None:
        self.invalid.append(InvalidEntry(location, _excerpt(raw), reason))


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = "".join(ch if ch.isprintable() else "·" for ch in text)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def decode(data: bytes | str) -> str:
    """UTF-8 text (a BOM dropped, line ends normalised), or a clear error for binary files."""
    if isinstance(data, bytes):
        if b"\x00" in data[:8192]:
            raise UnreadableImport(
                "This looks like a binary file, not text. Upload a .txt, .csv, .json or .jsonl file of generation ids."
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise UnreadableImport(
                f"The file is not UTF-8 text (undecodable byte at position {error.start}). Save it as UTF-8 and retry."
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    if "\x00" in text:
        raise UnreadableImport("This looks like a binary file, not text.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(text: str, filename: str = "", column: str = "", key: str = "") -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if column:
        return "csv"
    start = text.lstrip()[:1]
    if start in ("[", "{"):
        return "json"
    if key:
        return "jsonl"
    return "text"


def parse_ids(
    data: bytes | str,
    *,
    filename: str = "",
    column: str = "",
    key: str = "",
    max_ids: int | None = None,
) -> ParsedIds:
    """Every id in ``data``; raises ``UnreadableImport`` when the input cannot be read at all."""
    text = decode(data)
    if not text.strip():
        raise UnreadableImport("There is nothing to import: the input is empty.")
    column, key = column.strip(), key.strip()
    fmt = detect_format(text, filename, column, key)
    if fmt == "csv":
        parsed = _parse_csv(text, column, delimiter="\t" if filename.lower().endswith(".tsv") else None)
    elif fmt == "json":
        parsed = _parse_json(text, key)
    elif fmt == "jsonl":
        parsed = _parse_jsonl(text, key)
    else:
        parsed = _parse_text(text)
    if not parsed.ids and not parsed.invalid:
        raise UnreadableImport("No generation ids were found in the input.")
    if max_ids is not None and len(parsed.ids) > max_ids:
        raise UnreadableImport(
            f"This holds {len(parsed.ids):,} ids; at most {max_ids:,} can be imported at once. Split it into parts."
        )
    return parsed


def _parse_text(text: str) -> ParsedIds:
    parsed = ParsedIds(format="text")
    for number, line in enumerate(text.split("\n"), start=1):
        for token in _PASTE_SEPARATORS.split(line):
            token = token.strip("\"'`")
            if token:
                parsed.add(token, f"line {number}")
    return parsed


def _looks_like_id(value: str) -> bool:
    value = value.strip()
    return bool(_ID_LIKE.fullmatch(value)) and any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)


def _pick_column(header: list[str], rows: list[list[str]], column: str) -> tuple[int, bool]:
    """(index of the id column, whether the first row is a header)."""
    names = [name.strip().lower() for name in header]
    if column:
        wanted = column.lower()
        if wanted in names:
            return names.index(wanted), True
        if column.isdigit() and 1 <= int(column) <= len(header):
            return int(column) - 1, not _looks_like_id(header[int(column) - 1])
        shown = ", ".join(f"“{name.strip()}”" for name in header) or "none"
        raise UnreadableImport(f"The CSV has no column “{column}”. Its first row has: {shown}.")
    for candidate in ID_COLUMN_NAMES:
        if candidate in names:
            return names.index(candidate), True
    sample = rows[:200] or [header]
    width = max(len(row) for row in [header, *sample])
    scores = [sum(1 for row in sample if i < len(row) and _looks_like_id(row[i])) for i in range(width)]
    best = max(range(width), key=lambda i: scores[i])
    if scores[best] == 0 and not (len(header) > best and _looks_like_id(header[best])):
        raise UnreadableImport("No column of generation ids was recognised in the CSV. Name the column to use.")
    is_header = not (best < len(header) and _looks_like_id(header[best]))
    return best, is_header


def _parse_csv(text: str, column: str, delimiter: str | None) -> ParsedIds:
    parsed = ParsedIds(format="csv")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as error:
        raise UnreadableImport(f"The CSV cannot be read near line {reader.line_num}: {error}.") from None
    if not rows:
        raise UnreadableImport("There is nothing to import: the CSV has no rows.")
    index, has_header = _pick_column(rows[0][1], [row for _, row in rows[1:]], column)
    name = rows[0][1][index].strip() if has_header else f"{index + 1}"
    for line, row in rows[1:] if has_header else rows:
        if index >= len(row):
            parsed.reject(f"line {line}", delimiter.join(row), f"the row has no column “{name}”")
        else:
            parsed.add(row[index], f"line {line}")
    return parsed


def _lookup_key(item: dict, key: str) -> Any:
    """``item[key]``, where a dotted key walks into nested objects ("response.id")."""
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _take(parsed: ParsedIds, item: Any, key: str, location: str) -> None:
    if isinstance(item, dict):
        keys = (key,) if key else DEFAULT_JSON_KEYS
        for candidate in keys:
            value = _lookup_key(item, candidate)
            if value is not _MISSING:
                parsed.add(value, location)
                return
        wanted = " or ".join(f"“{k}”" for k in keys)
        parsed.reject(location, item, f"the object has no {wanted} key")
    elif isinstance(item, str):
        parsed.add(item, location)
    else:
        parsed.reject(location, item, "expected an id (text) or an object with one")


def _parse_json(text: str, key: str) -> ParsedIds:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if len([line for line in text.split("\n") if line.strip()]) > 1:
            return _parse_jsonl(text, key)  # JSON Lines saved as .json
        raise UnreadableImport(f"The JSON cannot be read: {error.msg} (line {error.lineno}).") from None
    parsed = ParsedIds(format="json")
    if isinstance(document, dict) and not key and isinstance(document.get("ids"), list):
        document = document["ids"]  # the ingest API's {"ids": [...]} shape
    if isinstance(document, list):
        for number, item in enumerate(document, start=1):
            _take(parsed, item, key, f"item {number}")
    else:
        _take(parsed, document, key, "line 1")
    return parsed


def _parse_jsonl(text: str, key: str) -> ParsedIds:
    parsed = ParsedIds(format="jsonl")
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.reject(f"line {number}", line, f"not valid JSON ({error.msg})")
            continue
        _take(parsed, item, key, f"line {number}")
    return parsed
