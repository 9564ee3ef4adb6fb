from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.utils.html import escape

from generations import display
from generations.models import KeyLabel


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.004731", "$0.004731"),
        ("0.0000000912", "$0.0000000912"),
        ("0.5", "$0.50"),
        ("12.3456", "$12.3456"),
        ("1234.567", "$1,234.57"),
        ("0", "$0.00"),
        ("-0.25", "-$0.25"),
    ],
)
def test_usd_shows_sub_cent_amounts(amount, text):
    assert display.format_usd(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.000123456789", "0.0001235"), ("12.345678912345", "12.3457"), ("1234.5", "1,234.50"), ("0", "0.00")],
)
def test_credits_read_like_dollars_without_the_sign(amount, text):
    assert display.format_credits(Decimal(amount)) == text


@pytest.mark.parametrize(
    "formatter",
    [
        display.format_usd,
        display.format_credits,
        display.format_count,
        display.format_latency,
        display.format_throughput,
        display.format_share,
        display.format_significant,
    ],
)
def test_a_value_that_is_not_known_reads_unknown(formatter):
    assert formatter(None) == "unknown"


@pytest.mark.parametrize(
    ("milliseconds", "text"), [(0.4, "0 ms"), (2514, "2,514 ms"), (9999.4, "9,999 ms"), (12_345, "12.3 s")]
)
def test_latency_reads_in_milliseconds_then_seconds(milliseconds, text):
    assert display.format_latency(milliseconds) == text


def test_counts_throughput_and_shares_have_their_units():
    assert display.format_count(1234567) == "1,234,567"
    assert display.format_throughput(92.71) == "92.7 tok/s"
    assert display.format_share(0.1234) == "12.3%"
    assert display.format_significant(3.29e-08) == "3.29e-08"


@pytest.mark.parametrize(
    ("wait", "text"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(hours=2), "2 hours"),
    ],
)
def test_wait_reads_as_a_person_says_it(wait, text):
    assert display.format_wait(wait) == text


def test_key_name_prefers_the_label_then_the_short_hash():
    long_hash = "sha256:" + "0123456789abcdef" * 4
    labels = {"sha256:abc": KeyLabel(api_key_hash="sha256:abc", name="Support bot")}
    assert display.key_name("sha256:abc", labels) == "Support bot"
    assert display.key_name(long_hash, labels) == display.short_hash(long_hash) == "sha256:0123456…cdef"
    assert display.key_name("", labels) == "unknown key"


@pytest.mark.parametrize(
    ("values", "unit", "texts"),
    [
        ((6217, 18_300), "s", ["6.2 s", "18.3 s"]),
        ((45, 450, 29_000), "s", ["0.045 s", "0.45 s", "29.0 s"]),
        ((45, 9_999), "ms", ["45 ms", "9,999 ms"]),
        ((None, 120), "ms", ["unknown", "120 ms"]),
    ],
)
def test_latencies_side_by_side_share_the_unit_of_the_largest(values, unit, texts):
    assert display.latency_unit(*values) == unit
    assert [display.format_latency(value, unit) for value in values] == texts


def test_two_figures_in_one_histogram_bin_say_so_instead_of_no_change():
    assert display.format_same_bin(0.0392) == "same bin (±4 %)"


def test_body_html_escapes_and_gives_every_long_run_a_break_opportunity():
    long_run = "QUJD" * 5_000  # 20,000 characters of base64, no space
    text = f'{{\n  "content": "<b>Plain words & sentences stay</b>",\n  "data": "{long_run}"\n}}'
    html = display.body_html(text)
    assert "&lt;b&gt;Plain words &amp; sentences stay&lt;/b&gt;" in html
    assert "<b>" not in html
    # Removing the break opportunities gives the escaped text back, character for character.
    assert html.replace("<wbr>", "") == str(escape(text))
    # No run between spaces and breaks is longer than BODY_BREAK_EVERY (the paint protection).
    runs = [run for piece in html.split("<wbr>") for run in unescape(piece).split()]
    assert max(len(run) for run in runs) == display.BODY_BREAK_EVERY
    # Ordinary words get none.
    assert "<wbr>" not in display.body_html('"content": "a normal sentence of ordinary words"')


def test_body_html_never_cuts_an_escaped_character():
    html = display.body_html("&" * 60)
    assert html.replace("<wbr>", "") == "&amp;" * 60
    assert all(piece.count("&amp;") == len(piece) // 5 for piece in html.split("<wbr>"))
