"""The dashboard against an independent oracle (tests/analytics/oracle.py), on random data.

Hypothesis draws a few weeks of random generations (many around DST changes and local
midnights), stores them through the services the ingest uses, and asks the site through its
public surfaces only (the chart CSVs, the dashboard page's headline figures, the generation
list's totals and its CSV export) for a random selection: zone, bucket, custom dates, filters.
Every count and amount must equal the oracle's exactly; percentiles must lie within the
histogram bin bound of the exact nearest-rank value; floats rounded for display within their rounding.
"""

import csv
import functools
import html
import io
import re
import signal
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generations.fastrouter.details import GenerationDetails
from generations.models import KeyLabel
from generations.services import generation_purge, generation_store, generation_store_many
from tests.analytics import oracle
from tests.analytics.charts import DASHBOARD_CHARTS

pytestmark = pytest.mark.django_db

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
]
# Two spells of 2025 with DST changes: spring (New York 9 Mar, Berlin 30 Mar, Chatham and Lord
# Howe 6 Apr) and autumn (Chatham 28 Sep, Lord Howe 5 Oct, Berlin 26 Oct, New York 2 Nov).
WINDOWS = [(date(2025, 3, 1), date(2025, 4, 20)), (date(2025, 9, 20), date(2025, 11, 15))]
MODELS = [f"vendor-{n % 3}/model-{n}" for n in range(11)]  # more than MAX_SERIES: "Other" appears
PROVIDERS = ["openai", "azure", "anthropic", "google"]
KEYS = ["sha256:key-a", "sha256:key-b", "sha256:key-c", "sha256:key-d", "sha256:" + "0123456789abcdef" * 4]
ENDPOINTS = ["/v1/chat/completions", "/v1/embeddings"]
TEAMS = ["Search", "Support", ""]
ID_PREFIXES = ["chat", "cmpl", "emb"]
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)
REQUEST_SECONDS = 30  # a request that takes longer is a hang, reported as a failure


# ---- random data --------------------------------------------------------------------------


@functools.cache
def zone_changes(zone_name: str, first: date, last: date) -> tuple[datetime, ...]:
    """The UTC instants from `first` to `last` (UTC days) at which the zone's offset changes."""
    zone, moment = ZoneInfo(zone_name), datetime.combine(first, time.min, UTC)
    changes, offset = [], moment.astimezone(zone).utcoffset()
    while moment.date() <= last:
        moment += oracle.QUARTER_HOUR
        if moment.astimezone(zone).utcoffset() != offset:
            changes.append(moment)
            offset = moment.astimezone(zone).utcoffset()
    return tuple(changes)


@st.composite
def moments(draw, zone: str, first: date, last: date) -> datetime:
    """A UTC instant from `first` to `last` (local days): anywhere, or a few hours around a DST
    change or a local midnight (where buckets and ranges begin)."""
    days = (last - first).days + 1
    near = draw(st.sampled_from(["anywhere", "change", "midnight"]))
    changes = zone_changes(zone, first - timedelta(days=1), last + timedelta(days=1))
    if near == "change" and changes:
        base = draw(st.sampled_from(changes)) + oracle.QUARTER_HOUR * draw(st.integers(-16, 16))
    elif near == "midnight":
        day = first + timedelta(days=draw(st.integers(0, days)))
        midnight = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        base = midnight + oracle.QUARTER_HOUR * draw(st.integers(-4, 4))
    else:
        midnight = datetime.combine(first, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        base = midnight + oracle.QUARTER_HOUR * draw(st.integers(0, days * 96 - 1))
    seconds = draw(st.one_of(st.just(0), st.integers(0, 899)))
    microseconds = draw(st.one_of(st.just(0), st.integers(0, 999_999)))
    return base + timedelta(seconds=seconds, microseconds=microseconds)


def pico_amounts(top: int) -> st.SearchStrategy:
    """Dollar amounts to the pico-dollar (what FastRouter reports), or unknown."""
    return st.one_of(st.none(), st.integers(0, top).map(lambda pico: Decimal(pico).scaleb(-12)))


@st.composite
def raw_generation(draw, number: int, when: st.SearchStrategy) -> dict:
    return {
        "generation_id": f"{draw(st.sampled_from(ID_PREFIXES))}-{number}",
        "query_time": draw(when),
        "model": draw(st.one_of(st.sampled_from(MODELS), st.none())),
        "provider_name": draw(st.one_of(st.sampled_from(PROVIDERS), st.none())),
        "api_key": draw(st.one_of(st.sampled_from(KEYS), st.none())),
        "endpoint": draw(st.one_of(st.sampled_from(ENDPOINTS), st.none())),
        "is_byok": draw(st.sampled_from([True, False, None])),
        "usage_cost": draw(st.one_of(pico_amounts(5 * 10**12), st.sampled_from([Decimal(0), Decimal("123.45")]))),
        "credits_used": draw(pico_amounts(5 * 10**12)),
        "prompt_tokens": draw(st.one_of(st.none(), st.integers(0, 200_000))),
        "completion_tokens": draw(st.one_of(st.none(), st.just(0), st.integers(0, 50_000))),
        "duration_ms": draw(st.one_of(st.none(), st.just(0), st.integers(1, 600_000))),
        "avg_response_time_minutes": draw(
            st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: Decimal(n).scaleb(-5)))
        ),
    }


@st.composite
def datasets(draw) -> tuple[list[dict], oracle.Selection, dict]:
    """(raw generations, a selection, list-only options): a custom range in a DST-changing spell
    (often starting just before a change), generations mostly in it and in the period before."""
    first, last = draw(st.sampled_from(WINDOWS))
    zone = draw(st.sampled_from(ZONES))
    changes = zone_changes(zone, first, last)
    if changes and draw(st.booleans()):
        start = changes[draw(st.integers(0, len(changes) - 1))].date() - timedelta(days=draw(st.integers(0, 3)))
    else:
        start = first + timedelta(days=draw(st.integers(0, (last - first).days)))
    end = start + timedelta(days=draw(st.integers(0, 34)))
    length = end - start + timedelta(days=1)
    when = st.one_of(
        moments(zone, start, end),  # the range
        moments(zone, start - length, end),  # the range and the period before it
        moments(zone, first, last),  # anywhere in the spell
    )
    raws = [draw(raw_generation(number, when)) for number in range(draw(st.integers(0, 60)))]
    labels = {}
    for key in KEYS:
        if draw(st.booleans()):
            labels[key] = oracle.KeyLabel(name=f"Key {key[-1]}", team=draw(st.sampled_from(TEAMS)))

    # At most a couple of filters, mostly on values the data has, so a selection is rarely empty.
    filters = {}
    names = ["byok", "endpoint", "key", "model", "provider", "team"]
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        present = {
            "model": [raw["model"] for raw in raws],
            "provider": [raw["provider_name"] for raw in raws],
            "key": [raw["api_key"] for raw in raws],
            "team": [label.team for label in labels.values()],
            "endpoint": [raw["endpoint"] for raw in raws],
        }.get(name, [])
        absent = {"model": ["no/such-model"], "team": ["Nobody"], "byok": [True, False]}.get(name, [])
        choices = sorted({value for value in present if value} | set(absent), key=str)
        if choices:
            filters[name] = draw(st.sampled_from(choices))
    selection = oracle.Selection(
        start_date=start,
        end_date=end,
        zone=zone,
        bucket=draw(st.sampled_from(["", *oracle.BUCKETS])),
        split=draw(st.sampled_from(["model", "provider"])),
        labels=labels,
        filters=filters,
    )
    # Then some generations are fetched again and have changed (time, model, cost…), and the
    # retention purge may delete all before some moment: the rollups must follow both.
    numbers = draw(st.lists(st.integers(0, len(raws) - 1), max_size=5, unique=True)) if raws else []
    refreshed = [{**draw(raw_generation(n, when)), "generation_id": raws[n]["generation_id"]} for n in numbers]
    purge_before = draw(st.one_of(st.none(), st.none(), st.none(), moments(zone, start - length, end)))
    sort = draw(st.sampled_from([f"{sign}{name}" for name in oracle.EXPORT_SORTS for sign in ("-", "")]))
    return (
        raws,
        selection,
        {
            "prefix": draw(st.sampled_from(["", "", *ID_PREFIXES])),
            "sort": sort,
            "store_one_by_one": draw(st.booleans()),
            "refreshed": refreshed,
            "purge_before": purge_before,
        },
    )


# ---- storing, asking -------------------------------------------------------------------------


def payload(raw: dict) -> dict:
    """FastRouter's answer for a raw generation."""
    return {
        "id": raw["generation_id"],
        "model": raw["model"],
        "provider_name": raw["provider_name"],
        "api_key": raw["api_key"],
        "endpoint": raw["endpoint"],
        "is_byok": raw["is_byok"],
        "credits_used": raw["credits_used"],
        "query_time": raw["query_time"].isoformat(),
        "avg_response_time_minutes_per_transaction": raw["avg_response_time_minutes"],
        "usage": {
            "prompt_tokens": raw["prompt_tokens"],
            "completion_tokens": raw["completion_tokens"],
            "cost": raw["usage_cost"],
        },
        "timing": {"duration_ms": raw["duration_ms"]},
    }


def store(raws: list[dict], *, one_by_one: bool = False) -> None:
    """Store `raws` as the ingest does (rollups maintained in the same transaction)."""
    items = [(raw["generation_id"], GenerationDetails.from_payload(payload(raw))) for raw in raws]
    if one_by_one:
        for generation_id, details in items:
            generation_store(generation_id=generation_id, details=details)
    elif items:
        generation_store_many(items=items)


def store_afresh(raws: list[dict], labels: dict[str, oracle.KeyLabel], *, one_by_one: bool = False) -> None:
    """Empty the database (rows and rollups, through the purge), then label keys and store `raws`."""
    generation_purge(older_than=FAR_FUTURE)
    KeyLabel.objects.all().delete()
    cache.clear()  # the filter choices are cached under a rollup id, which SQLite reuses
    KeyLabel.objects.bulk_create(
        KeyLabel(api_key_hash=key, name=label.name, team=label.team) for key, label in labels.items()
    )
    store(raws, one_by_one=one_by_one)


def store_history(raws: list[dict], selection: oracle.Selection, options: dict) -> list[dict]:
    """Store, refresh, purge (see `datasets`); returns the raw generations left, as last fetched."""
    store_afresh(raws, selection.labels, one_by_one=options["store_one_by_one"])
    store(options["refreshed"], one_by_one=not options["store_one_by_one"])
    latest = {raw["generation_id"]: raw for raw in [*raws, *options["refreshed"]]}
    if options["purge_before"] is None:
        return list(latest.values())
    generation_purge(older_than=options["purge_before"])
    return [raw for raw in latest.values() if raw["query_time"] >= options["purge_before"]]


def query(selection: oracle.Selection, **extra: str) -> str:
    params = {
        "range": "custom",
        "start": selection.start_date.isoformat(),
        "end": selection.end_date.isoformat(),
        "tz": selection.zone,
        "bucket": selection.bucket,
        **{name: {True: "yes", False: "no"}.get(value, value) for name, value in selection.filters.items()},
        "split": selection.split,
        **extra,
    }
    return urlencode({name: value for name, value in params.items() if value})


@contextmanager
def hang_guard(what: str, seconds: int = REQUEST_SECONDS):
    """Fail, instead of hanging the run, when `what` takes over `seconds`."""

    def stop(signum, frame):
        raise TimeoutError(f"{what} took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def get(client, url: str, *, seconds: int = REQUEST_SECONDS):
    with hang_guard(url, seconds):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, (url, body[:500])
    return body.decode()


def get_csv(client, url: str, *, seconds: int = REQUEST_SECONDS) -> list[list[str]]:
    return list(csv.reader(io.StringIO(get(client, url, seconds=seconds))))


# ---- comparing -----------------------------------------------------------------------------

FORMULA_STARTS = frozenset("=+-@\t\r\0")  # a text cell starting so gets a leading '


def _number(text: str) -> Fraction:
    return Fraction(Decimal(text))


def assert_cell(actual: str, expected: object, where: str) -> None:
    """One CSV cell against the oracle's value: exact, or within the stated approximation."""
    if expected is None:
        assert actual == "", where
    elif isinstance(expected, oracle.Binned):
        # The bin's middle, rounded to 3 decimals for the CSV; a hair of slack for float logarithms.
        low = expected.exact / Fraction(oracle.BIN_BOUND) * Fraction(1 - 1e-9) - Fraction(1, 2000)
        high = expected.exact * Fraction(oracle.BIN_BOUND) * Fraction(1 + 1e-9) + Fraction(1, 2000)
        assert low <= _number(actual) <= high, (where, actual, float(expected.exact))
    elif isinstance(expected, oracle.Rounded):
        slack = Fraction(1, 2 * 10**expected.places) + abs(expected.exact) * Fraction(1e-12)
        assert abs(_number(actual) - expected.exact) <= slack, (where, actual, float(expected.exact))
    elif isinstance(expected, Decimal):
        assert actual != "" and Decimal(actual) == expected, (where, actual, expected)
    elif isinstance(expected, int):
        assert actual == str(expected), (where, actual, expected)
    else:
        shown = "'" + expected if expected[:1] in FORMULA_STARTS else expected
        assert actual == shown, (where, actual, expected)


def assert_rows(actual: list[list[str]], expected: list[list[object]], where: str) -> None:
    assert len(actual) == len(expected), (where, [row[0] for row in actual], [row[0] for row in expected])
    for number, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert len(got) == len(want), (where, number, got, want)
        for column, (cell, value) in enumerate(zip(got, want, strict=True)):
            assert_cell(cell, value, f"{where} row {number} column {column}")


def assert_chart(actual: list[list[str]], expected: list[list[object]], slug: str) -> None:
    assert actual[0] == expected[0], slug  # the header
    if slug == "tokens-by-model":
        # Ordered by total tokens; ties in any order.
        tokens = [int(row[2]) + int(row[3]) for row in actual[1:]]
        assert tokens == sorted(tokens, reverse=True), slug
        assert_rows(sorted(actual[1:]), sorted(expected[1:], key=lambda row: str(row[0])), slug)
    else:
        assert_rows(actual[1:], expected[1:], slug)


# ---- the headline figures of the page ---------------------------------------------------------


def usd(amount: Decimal | None) -> str:
    """Dollars as the page shows them: cents from $100, four decimals from $1, else four significant digits."""
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0.00"
    places = 2 if amount >= 100 else 4 if amount >= 1 else min(12, max(4, 3 - amount.adjusted()))
    text = f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):,f}"
    if places > 2:
        whole, _, decimals = text.partition(".")
        text = f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"
    return f"${text}"


def credits_text(amount: Decimal) -> str:
    """Credits are dollar-denominated: the digits of `usd`, without the sign."""
    return usd(amount).replace("$", "", 1)


def parse_figures(page: str) -> dict[str, dict[str, str]]:
    """{label: {value, previous, delta, direction, hint}} of the page's headline figures."""
    section = page.split('<section class="stats figures"', 1)[1].split("</section>", 1)[0]
    figures = {}
    for block in section.split('<div class="stat">')[1:]:

        def find(pattern: str, block: str = block) -> str | None:
            found = re.search(pattern, block, re.DOTALL)
            return html.unescape(found.group(1).strip()) if found else None

        figures[find(r'<span class="label">(.*?)</span>')] = {
            "value": find(r'<span class="value[a-z ]*"[^>]*>(.*?)</span>'),
            "previous": find(r"previous: (.*?)\s*</span>"),
            "delta": find(r'<span class="delta [^>]*>(?:[▲▼=] )?(.*?)</span>'),
            "direction": find(r'<span class="delta [a-z]*" data-direction="([a-z]*)"'),
            "hint": find(r'previous: [^<]*</span>\s*<span class="hint">([^<]*)</span>'),
        }
    return figures


def _ms_shown(text: str) -> Fraction:
    number, unit = text.split()
    value = Fraction(Decimal(number.replace(",", "")))
    return value * 1000 if unit == "s" else value


def assert_latency_text(text: str, exact: Fraction | None, where: str) -> None:
    if exact is None:
        # Generations, none with a latency: a value that exists but is not known.
        assert text == "unknown", where
        return
    # Shown as whole milliseconds below 10 s, else tenths of a second.
    display = Fraction(1, 2) if text.endswith(" ms") else Fraction(50)
    bound = Fraction(oracle.BIN_BOUND) * Fraction(1 + 1e-9)
    assert exact / bound - display <= _ms_shown(text) <= exact * bound + display, (where, text, float(exact))


def assert_share_text(text: str, exact: Fraction | None, where: str) -> None:
    if exact is None:
        assert text == "—", where
        return
    assert text.endswith("%"), (where, text)
    shown = Fraction(Decimal(text[:-1].replace(",", ""))) / 100
    # Half the last shown digit, and a float's relative error (the page computes shares in floats).
    slack = Fraction(1, 2000) + abs(exact) * Fraction(1, 10**12)
    assert abs(shown - exact) <= slack, (where, text, float(exact))


def _exact_figures(t: oracle.Totals) -> dict[str, object]:
    """Each headline figure's exact value (None: shown as unknown or "—")."""
    return {
        "Total cost": t.cost,
        "Credits used": t.credits,
        "Requests": t.requests,
        "Input tokens": t.input_tokens,
        "Output tokens": t.output_tokens,
        "Avg cost / request": t.average_cost,
        "Cost / 1K tokens": t.cost_per_1k_tokens,
        "p50 latency": t.latency_percentile(Fraction(1, 2)),
        "p95 latency": t.latency_percentile(Fraction(95, 100)),
        "BYOK share": t.byok_share,
    }


def _assert_figure_text(label: str, text: str, exact: object, where: str, *, empty: bool = False) -> None:
    if empty and exact is None:
        # No generations at all: an average, a percentile or a share has no value to show.
        assert text == "—", (where, text)
    elif label in ("Total cost", "Avg cost / request", "Cost / 1K tokens"):
        assert text == usd(exact), (where, text, exact)
    elif label == "Credits used":
        assert text == credits_text(exact), (where, text, exact)
    elif label.endswith("latency"):
        assert_latency_text(text, exact, where)
    elif label == "BYOK share":
        assert_share_text(text, exact, where)
    else:
        assert text == f"{exact:,}", (where, text, exact)


def assert_headline(figures: dict[str, dict[str, str]], current: oracle.Totals, previous: oracle.Totals) -> None:
    now, before = _exact_figures(current), _exact_figures(previous)
    assert list(figures) == list(now)
    for label, shown in figures.items():
        _assert_figure_text(label, shown["value"], now[label], label, empty=not current.requests)
        if not previous.requests:
            # Nothing to compare with: the page says so instead of showing a change.
            assert (shown["previous"], shown["delta"]) == ("no data", None), label
            continue
        _assert_figure_text(label, shown["previous"], before[label], f"{label} (previous)")
        comparable = now[label] is not None and before[label] not in (None, 0)
        assert (shown["delta"] is not None) == comparable, (label, shown)
        if comparable and not label.endswith("latency"):
            change = (Fraction(now[label]) - Fraction(before[label])) / Fraction(before[label])
            assert_share_text(shown["delta"], abs(change), f"{label} (change)")
            if abs(abs(change) - Fraction(1, 2000)) > Fraction(1, 10**9):
                direction = "" if abs(change) < Fraction(1, 2000) else "up" if change > 0 else "down"
                assert shown["direction"] == direction, (label, shown, float(change))
    unknown = current.unknown_cost_requests
    hint = figures["Total cost"]["hint"]
    assert hint == (f"{unknown:,} generations of unknown cost not included" if unknown else None), hint


def parse_list_totals(page: str) -> tuple[str, str, str | None]:
    """(requests, cost, unknown-cost note) of the generation list's summary line."""
    summary = page.split('<p class="range-summary">', 1)[1].split("</p>", 1)[0]
    requests = re.search(r"<strong>(.*?)</strong>", summary).group(1)
    cost = re.search(r"generations? ·\s*(.*?)\s*(?:<span|$)", summary, re.DOTALL).group(1)
    unknown = re.search(r"\((\S+) of unknown cost not included\)", summary)
    return requests, html.unescape(cost), unknown.group(1) if unknown else None


# ---- the properties ---------------------------------------------------------------------------


# Each example stores its own data in the test's transaction (emptied first by `store_afresh`),
# so the function-scoped client fixture is safe to share between examples.
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,  # no .hypothesis directory in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def raw(number: int, moment: datetime, **fields: object) -> dict:
    """A raw generation for the explicit examples: priced, timed, with tokens."""
    return {
        "generation_id": f"chat-{number}",
        "query_time": moment,
        "model": MODELS[number % len(MODELS)],
        "provider_name": PROVIDERS[number % len(PROVIDERS)],
        "api_key": KEYS[number % len(KEYS)],
        "endpoint": ENDPOINTS[0],
        "is_byok": [True, False, None][number % 3],
        "usage_cost": Decimal(number + 1).scaleb(-4),
        "credits_used": None,
        "prompt_tokens": 100 * number,
        "completion_tokens": 7 * number,
        "duration_ms": 250 * (number + 1),
        "avg_response_time_minutes": None,
        **fields,
    }


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# Cases random data reaches only now and then, checked on every run.
EXAMPLES = [
    # Berlin's fall-back night by the hour: both 02:00 hours, and the range's first and last instants.
    (
        [
            raw(0, utc(2025, 10, 26, 0, 30)),
            raw(1, utc(2025, 10, 26, 1, 30)),
            raw(2, utc(2025, 10, 25, 22, 0)),
            raw(3, utc(2025, 10, 25, 21, 59, 59, 999_999)),
            raw(4, utc(2025, 10, 26, 22, 59, 59, 999_999)),
            raw(5, utc(2025, 10, 26, 23, 0)),
        ],
        oracle.Selection(start_date=date(2025, 10, 26), end_date=date(2025, 10, 26), zone="Europe/Berlin"),
    ),
    # Kathmandu's days start at 18:15 UTC; a week bucket range starting on a Wednesday.
    (
        [raw(n, utc(2025, 10, 14 + n, 18, 14, 59)) for n in range(6)]
        + [raw(n + 6, utc(2025, 10, 14 + n, 18, 15)) for n in range(6)],
        oracle.Selection(
            start_date=date(2025, 10, 15), end_date=date(2025, 10, 28), zone="Asia/Kathmandu", bucket="week"
        ),
    ),
    # More models than a stacked chart shows ("Other"), by month across New York's fall-back.
    (
        [raw(n, utc(2025, 10, 20, 0) + timedelta(hours=37 * n), usage_cost=Decimal(n % 11)) for n in range(30)],
        oracle.Selection(
            start_date=date(2025, 10, 20), end_date=date(2025, 11, 10), zone="America/New_York", bucket="month"
        ),
    ),
    # New York's spring-forward night by the hour, costs unknown and a team filter.
    (
        [raw(n, utc(2025, 3, 9, 5, 0) + timedelta(minutes=20 * n), usage_cost=None) for n in range(12)],
        oracle.Selection(
            start_date=date(2025, 3, 9),
            end_date=date(2025, 3, 9),
            zone="America/New_York",
            filters={"team": "Search"},
            labels={KEYS[0]: oracle.KeyLabel("Key a", "Search"), KEYS[1]: oracle.KeyLabel("Key b", "Search")},
        ),
    ),
]


def with_examples(test):
    for raws, selection in EXAMPLES:
        options = {
            "prefix": "",
            "sort": "-occurred_at",
            "store_one_by_one": False,
            "refreshed": [],
            "purge_before": None,
        }
        test = example(data=(raws, selection, options))(test)
    return test


def oracle_property(test):
    """`test(staff_client, data)` over generated histories and each of the hand-picked EXAMPLES."""
    return PROPERTY_SETTINGS(with_examples(given(data=datasets())(test)))


@oracle_property
def test_every_chart_table_and_headline_figure_matches_the_oracle(staff_client, data):
    raws, selection, options = data
    raws = store_history(raws, selection, options)
    tables = oracle.chart_tables(raws, selection)
    assert sorted(tables) == sorted(DASHBOARD_CHARTS)
    for slug in DASHBOARD_CHARTS:
        assert_chart(get_csv(staff_client, f"/dashboard/table/{slug}.csv?{query(selection)}"), tables[slug], slug)
    current, previous = oracle.headline(raws, selection)
    assert_headline(parse_figures(get(staff_client, f"/dashboard/?{query(selection)}")), current, previous)


@oracle_property
def test_the_generation_list_and_its_export_match_the_oracle(staff_client, data):
    raws, selection, options = data
    raws = store_history(raws, selection, options)
    extra = {"q": options["prefix"], "sort": options["sort"]}
    expected = oracle.export_rows(raws, selection, prefix=options["prefix"], sort=options["sort"])

    exported = get_csv(staff_client, f"/generations/export.csv?{query(selection, **extra)}")
    header = exported[0]
    assert all(list(row) == header for _, row in expected)
    by_id = {row["generation_id"]: row for _, row in expected}
    assert sorted(row[0] for row in exported[1:]) == sorted(by_id)
    # In list order: the sort values in sequence (rows with equal values in any order).
    sort_value = {row["generation_id"]: value for value, row in expected}
    assert [sort_value[row[0]] for row in exported[1:]] == [value for value, _ in expected]
    for row in exported[1:]:
        for column, cell in zip(header, row, strict=True):
            assert_cell(cell, by_id[row[0]][column], f"{row[0]} {column}")

    matching = oracle.totals(
        oracle.call_of(raw) for raw in raws if raw["generation_id"] in by_id
    )  # the list's totals are over the same generations
    requests, cost, unknown = parse_list_totals(get(staff_client, f"/generations/?{query(selection, **extra)}"))
    assert requests == f"{matching.requests:,}"
    assert cost == ("cost unknown" if matching.cost is None else usd(matching.cost))
    assert unknown == (f"{matching.unknown_cost_requests:,}" if matching.unknown_cost_requests else None)


# ---- discrepancies the oracle found (minimised), fixed in rollups.bucket_edges ----------------------------------------------


def requests_by_hour(client, zone: str, day: date) -> dict[str, int]:
    """{hour label: requests} of one local day's hourly requests chart."""
    url = f"/dashboard/table/requests-over-time.csv?range=custom&start={day}&end={day}&tz={zone}&bucket=hour"
    return {row[0]: int(row[1]) for row in get_csv(client, url, seconds=5)[1:]}


def store_at(*moments: datetime) -> None:
    store_afresh([raw(number, moment) for number, moment in enumerate(moments)], {})


def test_hourly_chart_of_a_half_hour_fall_back_is_served(staff_client):
    store_at(utc(2025, 4, 5, 15, 15))  # 01:45 +1030, the second 01:30–02:00 of the night
    hours = requests_by_hour(staff_client, "Australia/Lord_Howe", date(2025, 4, 6))
    assert hours.get("Sun 06 Apr 01:00 +1030") == 1, hours
    assert sum(hours.values()) == 1


@pytest.mark.parametrize(
    ("zone", "day", "moment", "hour"),
    [
        # A whole-hour change (the control case): the repeated 02:00 hour is its own bucket.
        ("Europe/Berlin", date(2025, 10, 26), utc(2025, 10, 26, 1, 30), "Sun 26 Oct 02:00 CET"),
        pytest.param(
            "Pacific/Chatham",
            date(2025, 9, 28),
            utc(2025, 9, 27, 14, 5),  # 03:50 +1345, just after the clocks jump from 02:45 to 03:45
            "Sun 28 Sep 03:00",
        ),
        pytest.param(
            "Pacific/Chatham",
            date(2025, 4, 6),
            utc(2025, 4, 5, 14, 5),  # 02:50 +1245, just after the clocks go back from 03:45 to 02:45
            "Sun 06 Apr 02:00 +1245",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            date(2025, 10, 5),
            utc(2025, 10, 4, 16, 15),  # 03:15 +11, after the clocks jump from 02:00 to 02:30
            "Sun 05 Oct 03:00",
        ),
    ],
)
def test_hourly_buckets_follow_the_local_clock_across_any_dst_change(staff_client, zone, day, moment, hour):
    store_at(moment)
    hours = requests_by_hour(staff_client, zone, day)
    assert hours.get(hour) == 1, hours
    assert sum(hours.values()) == 1


def test_both_hours_of_an_off_the_hour_fall_back_carry_their_zone(staff_client):
    """Chatham goes back from 03:45 to 02:45: both "02:00" buckets are labelled, as Berlin's are."""
    store_at(utc(2025, 4, 5, 12, 50), utc(2025, 4, 5, 14, 5))  # 02:35 +1345 and 02:50 +1245
    hours = requests_by_hour(staff_client, "Pacific/Chatham", date(2025, 4, 6))
    assert hours["Sun 06 Apr 02:00 +1345"] == 1
    assert hours["Sun 06 Apr 02:00 +1245"] == 1
