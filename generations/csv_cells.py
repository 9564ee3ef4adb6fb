"""The one rule for every CSV cell this site writes (the generation export and every chart table).

Spreadsheets run a text cell that starts with a formula character as a formula, so a model,
provider, key or endpoint name such as `=HYPERLINK(…)` would run in whoever opens the file.
Following OWASP's CSV-injection advice, such text gets a leading `'` (shown by spreadsheets as
text, never run) and every cell is quoted, so a `;` inside a name cannot start a new cell in a
spreadsheet that splits on semicolons. Numbers stay numbers, written as plain decimals: never an
exponent such as `1E+1`, which a spreadsheet or CSV reader may take for text.
"""

import csv
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal

# OWASP's list (= + - @ tab carriage return), plus NUL as OWASP ASVS 1.2.10 adds.
FORMULA_STARTS = frozenset("=+-@\t\r\0")


def csv_cell(value: object) -> str:
    """One cell's text: numbers as plain decimals, text neutralised if a spreadsheet would run it."""
    kind = type(value)  # exact types first: an export calls this for every cell of a million rows
    if kind is str:
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if value is None:
        return ""
    if kind is float and math.isfinite(value):
        text = repr(value)  # the shortest text that reads back as the same float
        return text if "e" not in text else format(Decimal(text), "f")
    if kind is Decimal and value.is_finite():
        return format(value, "f")
    if kind is int:
        return str(value)
    text = str(value)  # anything else (an infinity, a bool) is text
    return "'" + text if text[:1] in FORMULA_STARTS else text


class _Line:
    """A file-like target for csv.writer that hands each formatted line back."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as one CSV line, every cell through `csv_cell` (streamed: rows are never all in memory)."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    for row in rows:
        yield writer.writerow(list(map(csv_cell, row)))
