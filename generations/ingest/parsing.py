"""Reading generation ids out of whatever people hand us: pasted text, .txt, .csv, .json, .jsonl.

Pure functions, no database: the Import page, the ``import_generations`` command and the tests
all share them. Every id is checked with ``clean_generation_id``; a value that fails is
reported with where it was (line, or item of a JSON array) and why, never silently dropped.

Input is read in chunks and parsed as it arrives, and reading stops at the first id past
``max_ids``, so memory stays bounded whatever the size of the input: the ids kept, the first
``KEPT_INVALID`` invalid entries, one chunk, and one line (CSV, JSON Lines) or one JSON value (an
item of a top-level array; a top-level object is read whole) at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, count, islice
from pathlib import PurePath
from typing import Any, BinaryIO

from generations.fastrouter.errors import InvalidGenerationId
from generations.fastrouter.ids import MAX_GENERATION_ID_LENGTH, clean_generation_id

# Header names that mean "this column holds generation ids", best first.
ID_COLUMN_NAMES = ("generation_id", "generation id", "generationid", "generation", "id")
DEFAULT_JSON_KEYS = ("id", "generation_id")
CHUNK_BYTES = 64 * 1024
# A CSV row or a JSON Lines line longer than this is refused (a saved response is far shorter).
MAX_LINE_CHARS = 2_000_000
# Invalid entries listed (the rest are only counted): the Import page shows 200, the command 50.
KEPT_INVALID = 200
_WORD = re.compile(r"[^,;\s]+|\n")  # pasted text: an id, or a line end to count
_SEPARATOR = re.compile(r"[,;\s]")
# A pasted word this long is invalid anyway: it is reported, and the rest of it skipped unread.
_MAX_WORD_CHARS = 4 * MAX_GENERATION_ID_LENGTH
_ID_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:]{5,}")
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SECOND_LINE = re.compile(r"\n[ \t\r]*[^\s]")
_EXCERPT = 60
_BINARY = "This looks like a binary file, not text. Upload a .txt, .csv, .json or .jsonl file of generation ids."
_TOO_DEEP = "nested too deeply"


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
    """Unique valid ids in first-seen order, and everything that was not one.

    Adding the id past ``max_ids`` raises ``UnreadableImport``, which ends the reading; only the
    first ``keep_invalid`` invalid entries are kept, all are counted in ``invalid_count``.
    """

    format: str
    max_ids: int | None = None
    keep_invalid: int = KEPT_INVALID
    ids: list[str] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    invalid_count: int = 0
    duplicates: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def found(self) -> int:
        """Every valid id seen, repeats included."""
        return len(self.ids) + self.duplicates

    def add(self, raw: Any, location: str) -> None:
        if not isinstance(raw, str):
            self.reject(location, raw, "not text")
            return
        try:
            generation_id = clean_generation_id(raw)
        except InvalidGenerationId as error:
            self.reject(location, raw, error.user_message)
            return
        if generation_id in self._seen:
            self.duplicates += 1
            return
        if self.max_ids is not None and len(self.ids) >= self.max_ids:
            raise UnreadableImport(
                f"This holds more than {self.max_ids:,} ids; at most {self.max_ids:,} can be imported at once. "
                "Split it into parts."
            )
        self._seen.add(generation_id)
        self.ids.append(generation_id)

    def reject(self, location: str, raw: Any, reason: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < self.keep_invalid:
            self.invalid.append(InvalidEntry(location, _excerpt(raw), reason))


def _excerpt(value: Any) -> str:
    if isinstance(value, str):
        text = value[: _EXCERPT + 1]
    else:
        try:
            text = json.dumps(value, default=str)[: _EXCERPT + 1]
        except (RecursionError, ValueError):
            text = "(a value nested too deeply to show)"
    text = "".join(ch if ch.isprintable() else "·" for ch in text)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _text_chunks(stream: BinaryIO) -> Iterator[str]:
    """UTF-8 text read in chunks: a BOM dropped, line ends normalised to "\\n", binary refused."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset, held_cr = 0, False
    while True:
        data = stream.read(CHUNK_BYTES)
        if b"\x00" in data:
            raise UnreadableImport(_BINARY)
        undecoded = len(decoder.getstate()[0])
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            position = offset - undecoded + error.start
            raise UnreadableImport(
                f"The file is not UTF-8 text (undecodable byte at position {position}). Save it as UTF-8 and retry."
            ) from None
        offset += len(data)
        if held_cr:
            text = "\r" + text
        # A "\r" at the end of a chunk may be the first half of a "\r\n".
        held_cr = bool(data) and text.endswith("\r")
        if held_cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text:
            yield text
        if not data:
            return


def _after_blank_start(chunks: Iterator[str]) -> tuple[str, Iterator[str]]:
    """The first character that is not whitespace ('' if there is none) and every chunk, unconsumed
    (leading blank chunks come back as their line ends only, so line numbers stay right)."""
    line_ends = 0
    for chunk in chunks:
        if chunk.strip():
            blank = ("\n" * n for n in _pieces(line_ends, CHUNK_BYTES))
            return chunk.lstrip()[0], chain(blank, [chunk], chunks)
        line_ends += chunk.count("\n")
    return "", iter(())


def _pieces(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(total, size)
        total -= size


def detect_format(first_char: str, filename: str = "", column: str = "", key: str = "") -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if column:
        return "csv"
    if first_char in ("[", "{"):
        return "json"
    if key:
        return "jsonl"
    return "text"


def parse_ids(
    source: bytes | str | BinaryIO,
    *,
    filename: str = "",
    column: str = "",
    key: str = "",
    max_ids: int | None = None,
    format: str = "",
) -> ParsedIds:
    """Every id in ``source`` (text, bytes, or a binary file read in chunks); raises
    ``UnreadableImport`` when the input cannot be read at all, or holds more than ``max_ids`` ids.
    ``format`` ("text", "csv", "json", "jsonl") is guessed from the name and the first character when not given."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogatepass")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    first_char, chunks = _after_blank_start(_text_chunks(source))
    if not first_char:
        raise UnreadableImport("There is nothing to import: the input is empty.")
    column, key = column.strip(), key.strip()
    fmt = format or detect_format(first_char, filename, column, key)
    parsed = ParsedIds(format=fmt, max_ids=max_ids)
    if fmt == "csv":
        _parse_csv(chunks, parsed, column, delimiter="\t" if filename.lower().endswith(".tsv") else None)
    elif fmt == "json":
        _parse_json(chunks, parsed, key)
    elif fmt == "jsonl":
        _parse_jsonl(_lines(chunks), parsed, key)
    else:
        _parse_text(chunks, parsed)
    if not parsed.ids and not parsed.invalid_count:
        raise UnreadableImport("No generation ids were found in the input.")
    return parsed


def _parse_text(chunks: Iterable[str], parsed: ParsedIds) -> None:
    line, partial, skipping = 1, "", False
    for chunk in chain(chunks, [""]):
        final = not chunk
        text, partial = partial + chunk, ""
        if skipping:  # the rest of a word already reported as too long
            end = _SEPARATOR.search(text)
            if end is None:
                continue
            text, skipping = text[end.start() :], False
        for match in _WORD.finditer(text):
            word = match.group()
            if word == "\n":
                line += 1
            elif match.end() == len(text) and not final:
                partial = word  # it may go on in the next chunk
            else:
                _add_word(parsed, word, line)
        if len(partial) > _MAX_WORD_CHARS:
            _add_word(parsed, partial, line)
            partial, skipping = "", True


def _add_word(parsed: ParsedIds, word: str, line: int) -> None:
    word = word.strip("\"'`")
    if word:
        parsed.add(word, f"line {line}")


def _lines(chunks: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each line (without its "\\n") and whether it is whole: one longer than MAX_LINE_CHARS comes cut."""
    held: list[str] = []
    held_size = 0
    for chunk in chunks:
        *ends, rest = chunk.split("\n")
        for end in ends:
            line = "".join(held) + end if held else end
            held, held_size = [], 0
            yield (line, True) if len(line) <= MAX_LINE_CHARS else (line[:MAX_LINE_CHARS], False)
        if rest and held_size <= MAX_LINE_CHARS:  # past the limit the rest of the line is dropped
            held.append(rest)
            held_size += len(rest)
    if held:
        line = "".join(held)
        yield (line, True) if len(line) <= MAX_LINE_CHARS else (line[:MAX_LINE_CHARS], False)


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
        # ASCII digits only: str.isdigit() is also true for "²", which int() refuses.
        if column.isascii() and column.isdigit() and 1 <= int(column) <= len(header):
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


def _csv_lines(lines: Iterable[tuple[str, bool]]) -> Iterator[str]:
    for number, (line, whole) in enumerate(lines, start=1):
        if not whole:
            raise UnreadableImport(f"Line {number:,} of the CSV is longer than {MAX_LINE_CHARS:,} characters.")
        yield line + "\n"


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, row) of every row that is not blank."""
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as error:
        raise UnreadableImport(f"The CSV cannot be read near line {reader.line_num}: {error}.") from None


def _parse_csv(chunks: Iterable[str], parsed: ParsedIds, column: str, delimiter: str | None) -> None:
    lines = _csv_lines(_lines(chunks))
    head: list[str] = []
    for line in lines:  # enough of the start to guess the delimiter from
        head.append(line)
        if sum(map(len, head)) >= 4096:
            break
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("".join(head)[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = _csv_rows(csv.reader(chain(head, lines), delimiter=delimiter))
    first = next(rows, None)
    if first is None:
        raise UnreadableImport("There is nothing to import: the CSV has no rows.")
    sample = list(islice(rows, 200))
    index, has_header = _pick_column(first[1], [row for _, row in sample], column)
    name = first[1][index].strip() if has_header else f"{index + 1}"
    for line, row in chain(sample, rows) if has_header else chain([first], sample, rows):
        if index >= len(row):
            parsed.reject(f"line {line}", delimiter.join(row), f"the row has no column “{name}”")
        else:
            parsed.add(row[index], f"line {line}")


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


class _JsonReader:
    """JSON values read one at a time from text chunks, holding only the text of the value at hand."""

    _decoder = json.JSONDecoder()

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self._pos = 0
        self._lines_dropped = 0
        self._ended = False

    @property
    def line(self) -> int:
        """The line of the next character."""
        return self._lines_dropped + self._buffer.count("\n", 0, self._pos) + 1

    def line_of(self, error: json.JSONDecodeError) -> int:
        return self._lines_dropped + error.lineno

    def _read(self, at_least: int = 1) -> bool:
        """Drop what was consumed and add at least ``at_least`` characters; False at the end."""
        if self._pos:
            self._lines_dropped += self._buffer.count("\n", 0, self._pos)
            self._buffer, self._pos = self._buffer[self._pos :], 0
        added: list[str] = []
        for chunk in self._chunks:
            added.append(chunk)
            at_least -= len(chunk)
            if at_least <= 0:
                break
        else:
            self._ended = True
        self._buffer += "".join(added)
        return bool(added)

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end), skipping to it."""
        while True:
            self._pos = _JSON_WHITESPACE.match(self._buffer, self._pos).end()
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._read():
                return ""

    def skip(self) -> None:
        self._pos += 1

    def value(self) -> Any:
        """The next JSON value; raises json.JSONDecodeError (also when nested too deeply)."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                if self._ended or not self._may_complete(error):
                    raise
                self._read(at_least=len(self._buffer) - self._pos)  # doubling: linear time overall
                continue
            except RecursionError:
                raise json.JSONDecodeError(_TOO_DEEP, self._buffer, self._pos) from None
            if len(self._buffer) - end < 16 and not self._ended:
                self._read()  # a number near the end of what was read may go on ("1" of "1.5e3")
                continue
            self._pos = end
            return value

    def _may_complete(self, error: json.JSONDecodeError) -> bool:
        """Whether more text could turn ``error`` into a value: it is at the end of what was read
        (the longest token, "-Infinity", has 9 characters), or a string not closed yet."""
        return error.pos >= len(self._buffer) - 16 or error.msg.startswith("Unterminated string")

    def another_line_follows(self) -> bool:
        """Whether a non-blank line follows the current one in the text read so far."""
        return bool(_SECOND_LINE.search(self._buffer, self._pos))

    def rest(self) -> Iterator[str]:
        """The text not consumed yet."""
        yield self._buffer[self._pos :]
        yield from self._chunks


def _unreadable_json(message: str, line: int) -> UnreadableImport:
    return UnreadableImport(f"The JSON cannot be read: {message} (line {line}).")


def _parse_json(chunks: Iterator[str], parsed: ParsedIds, key: str) -> None:
    reader = _JsonReader(chunks)
    if reader.peek() == "[":
        try:
            _read_array(reader, parsed, key)
        except json.JSONDecodeError as error:
            raise _unreadable_json(error.msg, reader.line_of(error)) from None
        return
    first_line = reader.line
    try:
        document = reader.value()
    except json.JSONDecodeError as error:
        if reader.line_of(error) == first_line and reader.another_line_follows():
            parsed.format = "jsonl"  # JSON Lines saved as .json, the first line broken
            _parse_jsonl(_lines(reader.rest()), parsed, key, first_line=first_line)
            return
        raise _unreadable_json(error.msg, reader.line_of(error)) from None
    if reader.peek():  # more values: JSON Lines saved as .json
        parsed.format = "jsonl"
        _take(parsed, document, key, f"line {first_line}")
        _parse_jsonl(_lines(reader.rest()), parsed, key, first_line=reader.line)
        return
    if isinstance(document, dict) and not key and isinstance(document.get("ids"), list):
        document = document["ids"]  # the ingest API's {"ids": [...]} shape
    if isinstance(document, list):
        for number, item in enumerate(document, start=1):
            _take(parsed, item, key, f"item {number}")
    else:
        _take(parsed, document, key, "line 1")


def _read_array(reader: _JsonReader, parsed: ParsedIds, key: str) -> None:
    """A top-level array, item by item."""
    reader.skip()
    if reader.peek() == "]":
        reader.skip()
    else:
        for number in count(1):
            _take(parsed, reader.value(), key, f"item {number}")
            after = reader.peek()
            if after not in (",", "]"):
                raise _unreadable_json("Expecting ',' delimiter" if after else "Unterminated array", reader.line)
            reader.skip()
            if after == "]":
                break
    if reader.peek():
        raise _unreadable_json("Extra data", reader.line)


def _parse_jsonl(lines: Iterable[tuple[str, bool]], parsed: ParsedIds, key: str, first_line: int = 1) -> None:
    for number, (line, whole) in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        if not whole:
            parsed.reject(f"line {number}", line, f"longer than {MAX_LINE_CHARS:,} characters")
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.reject(f"line {number}", line, f"not valid JSON ({error.msg})")
            continue
        except RecursionError:
            parsed.reject(f"line {number}", line, f"not valid JSON ({_TOO_DEEP})")
            continue
        _take(parsed, item, key, f"line {number}")
