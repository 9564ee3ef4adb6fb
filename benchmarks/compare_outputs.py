"""Diff every page, chart CSV and export that two checkouts of this project serve from the same data.

    git worktree add /work/wt/before c698a7c
    DATA_DIR=/tmp/perf-sqlite .venv/bin/python benchmarks/compare_outputs.py /work/wt/before .
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench .venv/bin/python benchmarks/compare_outputs.py \\
        /work/wt/before .
    # the before outputs of a first run (OUT/before, OUT is --out) can stand in for the before checkout:
    cp -r /tmp/compare-outputs/before /tmp/outputs-before
    DATA_DIR=/tmp/perf-sqlite .venv/bin/python benchmarks/compare_outputs.py --before-snapshot /tmp/outputs-before .

The database is never touched: each checkout gets its own copy (DATA_DIR copied, or a PostgreSQL
database created from DATABASE_URL's as a template), migrated by that checkout's `manage.py
migrate`; when migrating changed a rollup table (its columns or its rows), or with --rebuild, that
checkout's `manage.py rebuild_rollups` refills them. A child process in the checkout then fetches a
fixed list of URLs (built from the data by the before checkout: the newest generation's time, a
sample generation's model, provider and key) through Django's test Client as a superuser, with
`django.utils.timezone.now` frozen at the newest generation's time (the app reads the clock only
through it; a checkout that read it another way would show other ranges on the 24h/7d/30d/90d
pages, a difference, never a silent pass), and writes each response (status, a few headers, body
with CSRF tokens masked: the only thing that differs between two runs) to OUT/before and
OUT/after. It also names a dozen keys, most of them in a team, in each copy (KeyLabel rows), so
the per-team filter and chart have something to show.

Prints the rows of every rollup and histogram table on each side, then a unified diff (first
--diff-lines lines) of each response that differs and a table of URL, bytes and identical, and
exits 1 when anything differs, 0 when every response is identical.
"""

import argparse
import difflib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

SCRIPT = Path(__file__).resolve()
ROLLUP_TABLE_WORDS = ("rollup", "histogram")
ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York")
RANGES = ("24h", "7d", "30d", "90d", "custom")
BUCKETS = ("", "hour", "day", "week", "month")  # "": the automatic bucket
# Headers that are part of what a page is (a CSV's file name, the URL htmx pushes).
RECORDED_HEADERS = ("Content-Type", "Content-Disposition", "HX-Push-Url", "Location")
# What differs between two identical runs: Django masks the CSRF token afresh on every render.
NOISE = [
    (re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+'), rb"\1CSRF"),
    (re.compile(rb'("X-CSRFToken": ")[^"]+'), rb"\1CSRF"),
]
NEXT_LINK = re.compile(r'<a [^>]*href="([^"]+)"[^>]*rel="next"')
SNAPSHOT_MANIFEST = "manifest.json"
DIFF_LINE_CHARACTERS = 300


# ---- in the child process, whose working directory is the checkout ------------------------------


def setup_django() -> None:
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
    import django

    django.setup()
    from django.conf import settings

    # Pages render without `collectstatic` (the manifest storage needs it): plain static names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def rollup_tables() -> dict[str, dict]:
    """Columns and row count of every rollup and histogram table."""
    setup_django()
    from django.db import connection

    tables = {}
    with connection.cursor() as cursor:
        for name in sorted(connection.introspection.table_names(cursor)):
            if not any(word in name for word in ROLLUP_TABLE_WORDS):
                continue
            description = connection.introspection.get_table_description(cursor, name)
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(name)}")
            tables[name] = {"columns": [[c.name, str(c.type_code)] for c in description], "rows": cursor.fetchone()[0]}
    return tables


def data_fingerprint() -> dict[str, object]:
    from django.db.models import Count, Max

    from generations.models import Generation

    stored = Generation.objects.aggregate(count=Count("id"), last_id=Max("id"), newest=Max("occurred_at"))
    return {**stored, "newest": stored["newest"].isoformat()}


def dashboard_query(range_name: str, custom: tuple[date, date], **params: str) -> str:
    dates = {"start": custom[0].isoformat(), "end": custom[1].isoformat()} if range_name == "custom" else {}
    return urlencode({"range": range_name, **dates, **{name: value for name, value in params.items() if value}})


def dst_changes(zone: str, first: date, last: date) -> list[date]:
    """The local dates in [first, last] on which `zone` changes its UTC offset."""
    tz = ZoneInfo(zone)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    noon = [datetime(day.year, day.month, day.day, 12, tzinfo=tz) for day in days]
    return [later.date() for earlier, later in pairwise(noon) if earlier.utcoffset() != later.utcoffset()]


def _first_module(*names: str):
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(names[-1])


def plan() -> dict:
    """The URLs to fetch, from the data: run once, in the before checkout, and shared by both."""
    setup_django()
    from generations.models import Generation

    # The plan runs in the before checkout, which may predate the package layout (issue 12).
    sorts = _first_module("generations.analytics.filters", "generations.filters").SORTS
    charts = _first_module("generations.analytics.dashboard", "generations.analytics").CHARTS

    newest_first = Generation.objects.order_by("-occurred_at", "-id")
    newest, oldest = newest_first.first(), Generation.objects.order_by("occurred_at", "id").first()
    sample = newest_first[5000]
    unknown_cost = newest_first.filter(cost_pico=None).first()
    byok = newest_first.filter(is_byok=True).first()
    keys = sorted(Generation.objects.order_by().values_list("api_key_hash", flat=True).distinct())
    # Every fourth key named, most of them in one of three teams: the sample's key among them or not.
    labels = [
        {"api_key_hash": key, "name": f"Key {n:02d}", "team": ("search", "support", "growth", "")[n % 4]}
        for n, key in enumerate(keys[::4])
    ]
    last_day = newest.occurred_at.astimezone(UTC).date()
    month = (last_day - timedelta(days=29), last_day)
    day = (last_day - timedelta(days=1),) * 2  # the last whole day
    pages: list[dict] = []

    def add(url: str, expect: int = 200, **flags: bool) -> None:
        pages.append({"url": url, "expect": expect, **flags})

    model, provider, key = sample.model, sample.provider, sample.api_key_hash
    filters = [
        {"model": model},
        {"provider": provider},
        {"key": key},
        {"byok": "yes"},
        {"byok": "no"},
        {"endpoint": sample.endpoint},
        {"team": "search"},
        {"model": model, "key": key},
        {"split": "provider"},
    ]
    add("/dashboard/")
    for range_name in RANGES:
        for bucket in BUCKETS:
            for zone in ZONES:
                add("/dashboard/?" + dashboard_query(range_name, month, bucket=bucket, tz=zone))
    for chosen in filters:
        for range_name, bucket, zone in (
            ("24h", "", "Asia/Kolkata"),
            ("7d", "", "UTC"),
            ("30d", "hour", "Europe/Berlin"),
            ("90d", "", "Asia/Kathmandu"),
            ("custom", "week", "America/New_York"),
        ):
            add("/dashboard/?" + dashboard_query(range_name, month, bucket=bucket, tz=zone, **chosen))
    # Around each change of daylight saving time in the data, by hour and by day.
    for zone in ("Europe/Berlin", "America/New_York"):
        for change in dst_changes(zone, oldest.occurred_at.date(), last_day):
            around = (change - timedelta(days=1), change + timedelta(days=1))
            for bucket in ("hour", "day"):
                add("/dashboard/?" + dashboard_query("custom", around, bucket=bucket, tz=zone))
    # Ranges too long for the bucket asked for: coarsened to weeks, then to months.
    add("/dashboard/?" + dashboard_query("custom", (last_day - timedelta(days=6 * 365), last_day), bucket="hour"))
    add("/dashboard/?" + dashboard_query("custom", (date(1970, 1, 1), last_day), bucket="day", tz="Asia/Kathmandu"))
    add("/dashboard/?" + dashboard_query("custom", (last_day, last_day - timedelta(days=1))), expect=400)
    add("/dashboard/?" + dashboard_query("30d", month, tz="UTC"), htmx=True)

    for slug in charts:
        for range_name, bucket, zone, chosen in (
            ("30d", "", "UTC", {}),
            ("7d", "hour", "Asia/Kathmandu", {}),
            ("90d", "week", "Europe/Berlin", {"model": model}),
            ("custom", "day", "America/New_York", {"key": key}),
            ("24h", "", "Asia/Kolkata", {"byok": "yes"}),
            ("90d", "month", "UTC", {"split": "provider", "team": "support"}),
        ):
            add(f"/dashboard/table/{slug}.csv?" + dashboard_query(range_name, month, bucket=bucket, tz=zone, **chosen))
    add("/dashboard/table/no-such-chart.csv?range=7d", expect=404)
    add("/dashboard/table/cost-over-time.csv?range=custom&start=2026-01-01", expect=400)

    add("/generations/", follow_next=True)
    for sort in sorts:
        for sign in ("-", ""):
            add("/generations/?" + dashboard_query("7d", month, sort=sign + sort, tz="UTC"), follow_next=True)
    for chosen in filters[:7]:
        add("/generations/?" + dashboard_query("custom", month, tz="Asia/Kolkata", **chosen), follow_next=True)
    add("/generations/?" + dashboard_query("24h", month, tz="Asia/Kathmandu", per_page="25"), follow_next=True)
    add("/generations/?" + dashboard_query("90d", month, per_page="100", sort="-cost", byok="yes"), follow_next=True)
    add("/generations/?" + dashboard_query("90d", month, q=sample.generation_id[:-2]), follow_next=True)
    add("/generations/?" + dashboard_query("7d", month, tz="Europe/Berlin"), htmx=True)
    add("/generations/?after=damaged", expect=400)

    add("/generations/export.csv?" + dashboard_query("custom", day, model=model))
    add("/generations/export.csv?" + dashboard_query("custom", day, tz="Asia/Kolkata", key=key))
    add("/generations/export.csv?" + dashboard_query("24h", month, byok="yes", tz="America/New_York"))
    add("/generations/export.csv?" + dashboard_query("custom", day, team="growth", sort="-latency"))

    for generation in (newest, sample, unknown_cost, byok, oldest):
        add(f"/generations/{quote(generation.generation_id)}/")
    add(f"/generations/payload/{quote(sample.generation_id)}")

    changelist = "/admin/generations/generation/"
    add(changelist)
    for query in (
        {"q": sample.generation_id[:-2]},
        {"q": model},
        {"q": key[:12]},
        {"model": model},
        {"provider": provider, "is_byok__exact": "1"},
        {"occurred_at__year": str(last_day.year), "occurred_at__month": str(last_day.month)},
    ):
        add(f"{changelist}?{urlencode(query)}")
    add(f"{changelist}{sample.pk}/change/")
    add("/")
    add("/batches/")
    return {"now": newest.occurred_at.isoformat(), "data": data_fingerprint(), "labels": labels, "pages": pages}


def normalised(body: bytes) -> bytes:
    for pattern, replacement in NOISE:
        body = pattern.sub(replacement, body)
    return body


def recorded(response) -> bytes:
    """What is compared: the status, the headers that matter, and the body without its noise."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    head = [f"status: {response.status_code}"]
    head += [f"{name.lower()}: {response[name]}" for name in RECORDED_HEADERS if response.has_header(name)]
    return "\n".join(head).encode() + b"\n\n" + normalised(body)


def fetch(plan_file: Path, out: Path) -> dict:
    """Fetch every planned URL with the clock frozen; write one file per response into `out`."""
    chosen = json.loads(plan_file.read_text())
    frozen = datetime.fromisoformat(chosen["now"])
    # Before django.setup(), so `from django.utils.timezone import now` in app modules gets this too.
    from django.utils import timezone

    timezone.now = lambda: frozen
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from generations.models import KeyLabel

    if data_fingerprint() != chosen["data"]:
        raise SystemExit(f"This copy holds other data than the plan was made from: {data_fingerprint()}")
    for label in chosen["labels"]:
        KeyLabel.objects.update_or_create(api_key_hash=label["api_key_hash"], defaults=label)
    user, _ = get_user_model().objects.get_or_create(
        username="compare-outputs", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(raise_request_exception=False)  # a 500 is an output to compare, not the end of the run
    client.force_login(user)
    out.mkdir(parents=True)
    pages = []
    began = time.perf_counter()

    def get(url: str, name: str, htmx: bool, expect: int) -> str:
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        content = recorded(response)
        (out / name).write_bytes(content)
        status = response.status_code
        pages.append({"url": url, "file": name, "status": status, "expected": status == expect, "bytes": len(content)})
        return content.decode(errors="replace")

    for index, page in enumerate(chosen["pages"]):
        kind = urlsplit(page["url"]).path.strip("/").split("/")[0] or "lookup"
        content = get(page["url"], f"{index:03d}-{kind}.txt", page.get("htmx", False), page["expect"])
        if page.get("follow_next"):
            link = NEXT_LINK.search(content)
            following = urlsplit(page["url"]).path + link.group(1).replace("&amp;", "&") if link else "/no-next-link/"
            get(following, f"{index:03d}-{kind}-next.txt", False, 200)
    return {"pages": pages, "seconds": round(time.perf_counter() - began, 1)}


# ---- in the parent ------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child(root: Path, env: dict[str, str], mode: str, *arguments: str) -> dict:
    command = [sys.executable, str(SCRIPT), "--child", mode, *arguments]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise SystemExit(f"{mode} in {root} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def manage(root: Path, env: dict[str, str], *arguments: str) -> None:
    log(f"{root}: manage.py {' '.join(arguments)}")
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=root, env=env, check=True, stdout=sys.stderr)  # noqa: S603


def commit(root: Path) -> str:
    def git(*arguments: str) -> str:
        command = ["git", *arguments]
        return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


class DataCopies:
    """A throwaway copy of the database per checkout: DATA_DIR (SQLite) or DATABASE_URL (PostgreSQL)."""

    def __init__(self, work: Path) -> None:
        self.url = os.environ.get("DATABASE_URL", "")
        self.data_dir = os.environ.get("DATA_DIR", "")
        self.work = work
        if self.url and not self.url.startswith(("postgres://", "postgresql://")):
            raise SystemExit("DATABASE_URL must be a PostgreSQL URL; for SQLite set DATA_DIR instead.")
        if not self.url and not (self.data_dir and Path(self.data_dir, "fastrouter_dash.sqlite3").is_file()):
            raise SystemExit("Set DATA_DIR to a folder holding fastrouter_dash.sqlite3, or DATABASE_URL.")

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(urlunsplit(urlsplit(self.url)._replace(path="/postgres")), autocommit=True)

    def _database(self, side: str) -> tuple[str, str]:
        parts = urlsplit(self.url)
        name = f"{parts.path.lstrip('/')}_outputs_{side}"
        return name, urlunsplit(parts._replace(path=f"/{name}"))

    def make(self, side: str) -> dict[str, str]:
        """The environment variables that point a checkout at its own fresh copy."""
        log(f"{side}: copying the data")
        if not self.url:
            copy = self.work / side
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(self.data_dir, copy)
            return {"DATA_DIR": str(copy)}
        from psycopg import sql

        name, url = self._database(side)
        with self._admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            template = sql.Identifier(urlsplit(self.url).path.lstrip("/"))
            connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), template))
        return {"DATABASE_URL": url}

    def describe(self, side: str) -> str:
        return self._database(side)[1] if self.url else str(self.work / side)

    def drop(self, side: str) -> None:
        if not self.url:
            shutil.rmtree(self.work / side)
            return
        from psycopg import sql

        with self._admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(self._database(side)[0])))


def run_side(side: str, root: Path, copies: DataCopies, out: Path, plan_file: Path, args) -> dict:
    """Copy, migrate (and rebuild) and fetch with one checkout; its manifest is written into `out`."""
    env = {
        **os.environ,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "compare-outputs",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "testserver",
        # Outputs, not speed: a slow statement must not turn a page into the "took too long" page.
        "WEB_QUERY_TIMEOUT_SECONDS": "3600",
        **copies.make(side),
    }
    try:
        before_migrate = child(root, env, "tables")
        manage(root, env, "migrate", "--no-input")
        tables = child(root, env, "tables")
        rebuilt = args.rebuild or tables != before_migrate
        if rebuilt:
            manage(root, env, "rebuild_rollups")
            tables = child(root, env, "tables")
        if not plan_file.exists():
            log(f"{side}: choosing the URLs from the data")
            plan_file.write_text(json.dumps(child(root, env, "plan"), indent=1))
        log(f"{side}: fetching with {root}")
        shutil.rmtree(out, ignore_errors=True)
        fetched = child(root, env, "fetch", "--plan", str(plan_file), "--out", str(out))
    finally:
        if args.keep_copies:
            log(f"{side}: its copy of the data is kept: {copies.describe(side)}")
        else:
            copies.drop(side)
    manifest = {
        "checkout": str(root),
        "commit": commit(root),
        "rebuilt_rollups": rebuilt,
        "tables": {name: table["rows"] for name, table in tables.items()},
        "plan": json.loads(plan_file.read_text()),
        **fetched,
    }
    (out / SNAPSHOT_MANIFEST).write_text(json.dumps(manifest, indent=1))
    log(f"{side}: {len(fetched['pages'])} responses in {fetched['seconds']} s")
    return manifest


def lines_of(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def unified_diff(before: Path, after: Path, limit: int) -> str:
    """The first `limit` lines, each cut short: a chart's data is one line of up to hundreds of KB."""
    lines = difflib.unified_diff(lines_of(before), lines_of(after), str(before), str(after), lineterm="")
    cut = (
        line if len(line) <= DIFF_LINE_CHARACTERS else f"{line[:DIFF_LINE_CHARACTERS]}… ({len(line):,} characters)"
        for line in lines
    )
    return "\n".join(islice(cut, limit))


def report(before: dict, after: dict, folders: dict[str, Path], diff_lines: int) -> int:
    """Print the differences and the tables; the number of responses that differ or have a status
    other than the planned one (an error page on both sides proves nothing)."""
    pages = {
        side: {page["file"]: page for page in manifest["pages"]}
        for side, manifest in (("before", before), ("after", after))
    }
    files = list(dict.fromkeys([*pages["before"], *pages["after"]]))
    rows, failing = [], 0
    for name in files:
        paths = [folders[side] / name for side in ("before", "after")]
        same = all(path.exists() for path in paths) and paths[0].read_bytes() == paths[1].read_bytes()
        if not same:
            print(f"\n### {name}\n```diff\n{unified_diff(*paths, diff_lines)}\n```")
        found = [side[name] for side in pages.values() if name in side]
        expected = len(found) == 2 and all(page["expected"] for page in found)
        failing += not (same and expected)
        statuses = "/".join(dict.fromkeys(str(page["status"]) for page in found))
        sizes = [f"{side[name]['bytes']:,}" if name in side else "—" for side in pages.values()]
        verdict = ("yes" if same else "**no**") + ("" if expected else ", **unexpected status**")
        rows.append(f"| {Path(name).stem} | `{found[0]['url']}` | {statuses} | {sizes[0]} | {sizes[1]} | {verdict} |")

    print(f"\nbefore: {before['checkout']} at {before['commit']}; after: {after['checkout']} at {after['commit']}")
    print(f"data: {before['plan']['data']}; clock frozen at {before['plan']['now']}\n")
    print("| rows stored | before | after |")
    print("|---|---:|---:|")
    for name in sorted({*before["tables"], *after["tables"]}):
        cells = [f"{side['tables'][name]:,}" if name in side["tables"] else "—" for side in (before, after)]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    totals = [f"{sum(side['tables'].values()):,}" for side in (before, after)]
    print(f"| **all rollup tables** | {totals[0]} | {totals[1]} |")
    rebuilt = [side for side, manifest in (("before", before), ("after", after)) if manifest["rebuilt_rollups"]]
    print(f"\nRollups rebuilt after migrating: {', '.join(rebuilt) or 'neither side'}.")
    print(f"Fetching took {before['seconds']} s before, {after['seconds']} s after.\n")
    print("| # | URL | status | bytes before | bytes after | identical |")
    print("|---|---|---|---:|---:|---|")
    print("\n".join(rows))
    print(f"\n{len(files) - failing} of {len(files)} responses identical with the planned status, {failing} not.")
    return failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, metavar="CHECKOUT", help="before and after, or only after")
    parser.add_argument("--before-snapshot", type=Path, metavar="DIR", help="reuse the before outputs saved in DIR")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir(), "compare-outputs"))
    parser.add_argument("--rebuild", action="store_true", help="always run rebuild_rollups after migrating")
    parser.add_argument("--diff-lines", type=int, default=40, help="lines of diff shown per response")
    parser.add_argument("--keep-copies", action="store_true", help="leave the copies of the data")
    parser.add_argument("--child", choices=("tables", "plan", "fetch"), help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = {"tables": rollup_tables, "plan": plan, "fetch": lambda: fetch(args.plan, args.out)}[args.child]()
        print(json.dumps(result, default=str))
        return
    if len(args.checkouts) != (1 if args.before_snapshot else 2):
        parser.error("give the before and after checkouts, or --before-snapshot DIR and the after checkout")
    *before_root, after_root = (path.resolve() for path in args.checkouts)
    args.out.mkdir(parents=True, exist_ok=True)
    folders = {"before": args.before_snapshot or args.out / "before", "after": args.out / "after"}
    plan_file = args.out / "plan.json"
    plan_file.unlink(missing_ok=True)
    copies = DataCopies(Path(tempfile.mkdtemp(prefix="compare-outputs-")))
    if args.before_snapshot:
        before = json.loads((args.before_snapshot / SNAPSHOT_MANIFEST).read_text())
        plan_file.write_text(json.dumps(before["plan"], indent=1))
    else:
        before = run_side("before", before_root[0], copies, folders["before"], plan_file, args)
    after = run_side("after", after_root, copies, folders["after"], plan_file, args)
    if not args.keep_copies:
        copies.work.rmdir()
    sys.exit(1 if report(before, after, folders, args.diff_lines) else 0)


if __name__ == "__main__":
    main()
