"""apply_budgets: the TOML file creates, updates and removes budgets and channels by name."""

from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from budgets.config import budgets_export, parse_config
from budgets.models import Budget, Channel

pytestmark = pytest.mark.django_db

# The issue's example, as written.
ISSUE_EXAMPLE = """\
[[channel]]
name = "ops-hook"
kind = "webhook"                 # webhook | slack | email
url = "https://hooks.example.com/fastrouter"
secret_env = "OPS_HOOK_SECRET"   # secrets come from the environment, never the file

[[budget]]
name = "All spend"
scope = "all"                    # all | team:NAME | key:HASH | model:NAME | provider:NAME
amount = "50.00"                 # USD, a string: exact
period = "month"                 # month | week | day | rolling30
zone = "Europe/Berlin"
thresholds = [50, 80, 100]
notify = ["ops-hook"]
"""

FULL = (
    ISSUE_EXAMPLE
    + """
[[channel]]
name = "finance"
kind = "email"
recipients = ["pay@example.com", "cfo@example.com"]
digest = true

[[channel]]
name = "team-slack"
kind = "slack"
url_env = "TEAM_SLACK_URL"
anomalies = true
digest = true

[[budget]]
name = "Research team"
scope = "team:research"
amount = "120.000000000001"
period = "rolling30"
zone = "America/New_York"
thresholds = [100, 75]
notify = ["finance", "team-slack"]
notify_reset = true

[[budget]]
name = "GPT-4o"
scope = "model:openai/gpt-4o"
amount = "10"
period = "week"
"""
)


def apply(tmp_path, text: str, *options: str) -> str:
    path = tmp_path / "budgets.toml"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("apply_budgets", str(path), *options, stdout=out)
    return out.getvalue()


def test_the_issue_example_applies_as_written(tmp_path):
    output = apply(tmp_path, ISSUE_EXAMPLE)
    assert "create channel 'ops-hook'" in output
    budget = Budget.objects.get(name="All spend")
    assert (budget.scope, f"{budget.amount:f}", budget.period, budget.zone) == ("all", "50", "month", "Europe/Berlin")
    assert budget.amount_pico == 50 * 10**12
    assert budget.thresholds == [50, 80, 100]
    assert [channel.name for channel in budget.channels.all()] == ["ops-hook"]
    channel = Channel.objects.get(name="ops-hook")
    assert (channel.kind, channel.url, channel.secret_env) == (
        "webhook",
        "https://hooks.example.com/fastrouter",
        "OPS_HOOK_SECRET",
    )


def test_a_file_round_trips_through_export(tmp_path):
    apply(tmp_path, FULL)
    exported = budgets_export()
    read_back, written = parse_config(exported), parse_config(FULL)
    assert set(read_back.channels) == set(written.channels)
    # The file's notify order is not kept: a budget's channels are a set.
    assert {(b.name, *sorted(b.notify)) for b in read_back.budgets} == {
        (b.name, *sorted(b.notify)) for b in written.budgets
    }
    assert {replace(b, notify=()) for b in read_back.budgets} == {replace(b, notify=()) for b in written.budgets}
    assert apply(tmp_path, exported).strip().endswith("nothing to change.")
    research = Budget.objects.get(name="Research team")
    assert research.amount_pico == 120_000_000_000_001
    assert research.thresholds == [75, 100]
    assert research.notify_reset is True
    assert Budget.objects.get(name="GPT-4o").zone == "UTC"
    flags = {channel.name: (channel.anomalies, channel.digest) for channel in Channel.objects.all()}
    assert flags == {"ops-hook": (False, False), "finance": (False, True), "team-slack": (True, True)}


def test_applying_updates_and_removes_by_name(tmp_path):
    apply(tmp_path, FULL)
    kept = Budget.objects.get(name="All spend").pk
    changed = ISSUE_EXAMPLE.replace('"50.00"', '"75.5"').replace('"Europe/Berlin"', '"Europe/Paris"')
    output = apply(tmp_path, changed)
    assert 'update budget \'All spend\': amount 50 → 75.5, zone "Europe/Berlin" → "Europe/Paris"' in output
    assert "remove budget 'GPT-4o'" in output
    assert "remove channel 'finance'" in output
    assert list(Budget.objects.values_list("name", flat=True)) == ["All spend"]
    assert list(Channel.objects.values_list("name", flat=True)) == ["ops-hook"]
    assert Budget.objects.get(name="All spend").pk == kept


def test_dry_run_prints_the_changes_and_makes_none(tmp_path):
    apply(tmp_path, ISSUE_EXAMPLE)
    output = apply(tmp_path, FULL, "--dry-run")
    assert "would create budget 'Research team'" in output
    assert "would create channel 'finance'" in output
    assert "dry run: nothing was changed" in output
    assert list(Budget.objects.values_list("name", flat=True)) == ["All spend"]


def test_changing_the_channels_of_a_budget_is_a_change(tmp_path):
    apply(tmp_path, FULL)
    output = apply(tmp_path, FULL.replace('notify = ["finance", "team-slack"]', 'notify = ["finance"]'))
    assert 'update budget \'Research team\': notify ["finance", "team-slack"] → ["finance"]' in output
    assert [c.name for c in Budget.objects.get(name="Research team").channels.all()] == ["finance"]


BAD_FILES = [
    # (replace this, with this, the line named, words of the message)
    ('zone = "Europe/Berlin"', 'zone = "Mars/Olympus"', 12, "unknown time zone 'Mars/Olympus'"),
    ('scope = "all" ', 'scope = "department:x"', 9, "scope must be all, team:NAME"),
    ('scope = "all" ', 'scope = "team:"', 9, "names no team"),
    ('amount = "50.00"', 'amount = "fifty"', 10, "amount must be a number of USD"),
    ('amount = "50.00"', 'amount = "-5"', 10, "more than 0"),
    ('amount = "50.00"', 'amount = "0"', 10, "more than 0"),
    ('amount = "50.00"', 'amount = "1000000"', 10, "less than 1,000,000"),
    ('amount = "50.00"', 'amount = "NaN"', 10, "more than 0"),
    ('amount = "50.00"', 'amount = "0.0000000000001"', 10, "more than 12 decimal places"),
    ('amount = "50.00"', "amount = 50.0", 10, 'write the amount as a string, "50.0"'),
    ('period = "month"', 'period = "year"', 11, "period must be one of month | week | day | rolling30"),
    ("thresholds = [50, 80, 100]", "thresholds = [50, 50]", 13, "listed twice"),
    ("thresholds = [50, 80, 100]", "thresholds = [0, 80]", 13, "from 1 to 1000"),
    ("thresholds = [50, 80, 100]", 'thresholds = ["50"]', 13, "whole percentages"),
    ("thresholds = [50, 80, 100]", "thresholds = [50.5]", 13, "whole percentages"),
    ('notify = ["ops-hook"]', 'notify = ["nobody"]', 14, "notifies 'nobody', which is no [[channel]]"),
    ('notify = ["ops-hook"]', 'notify = "ops-hook"', 14, "notify must be a list of strings"),
    ('kind = "webhook" ', 'kind = "pager"', 3, "kind must be one of webhook | slack | email"),
    ('secret_env = "OPS_HOOK_SECRET"', 'secret_env = "not a name"', 5, "must name an environment variable"),
    ('secret_env = "OPS_HOOK_SECRET"', "", 1, "needs secret_env"),
    ('url = "https://hooks.example.com/fastrouter"', 'url = "ftp://example.com"', 4, "http:// or https://"),
    ('url = "https://hooks.example.com/fastrouter"', "", 1, "either url or url_env"),
    ('name = "All spend"', "", 7, "name is required"),
    ('name = "All spend"', 'name = "All spend"\ncolour = "red"', 9, "unknown key 'colour'"),
    ("[[budget]]", "[[budgets]]", 7, "unknown top-level key 'budgets'"),
    ('amount = "50.00"', 'amount = "50.00', 10, "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), BAD_FILES)
def test_a_bad_file_names_the_line_and_the_problem_and_changes_nothing(tmp_path, old, new, line, message):
    apply(tmp_path, FULL)
    before = budgets_export()
    assert old in ISSUE_EXAMPLE
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, FULL.replace(old, new, 1))
    text = str(raised.value)
    assert message in text
    assert f"line {line}" in text
    assert text.endswith("nothing was changed")
    assert budgets_export() == before


@pytest.mark.parametrize(
    ("addition", "line", "message"),
    [
        ('\n[[channel]]\nname = "ops-hook"\nkind = "slack"\nurl_env = "X"\n', 17, "a second channel named 'ops-hook'"),
        ('\n[[budget]]\nname = "All spend"\nscope = "all"\namount = "1"\n', 17, "a second budget named 'All spend'"),
        ('\n[[channel]]\nname = "mail"\nkind = "email"\nrecipients = ["not-an-address"]\n', 19, "not an email address"),
        ('\n[[channel]]\nname = "mail"\nkind = "email"\n', 16, "needs recipients"),
        ('\n[[channel]]\nname = "s"\nkind = "slack"\nurl_env = "S"\nsecret_env = "T"\n', 20, "not signed"),
        (
            '\n[[channel]]\nname = "h"\nkind = "webhook"\nurl_env = "H"\nsecret_env = "T"\ndigest = true\n',
            21,
            "by email or Slack",
        ),
        (
            '\n[[channel]]\nname = "s"\nkind = "slack"\nurl_env = "S"\nanomalies = "yes"\n',
            20,
            "anomalies must be true or false",
        ),
    ],
)
def test_duplicates_and_bad_channels_name_their_line(tmp_path, addition, line, message):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, ISSUE_EXAMPLE + addition)
    assert message in str(raised.value)
    assert f"line {line}:" in str(raised.value)
    assert not Budget.objects.exists()


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read it"):
        call_command("apply_budgets", str(tmp_path / "missing.toml"))
    (tmp_path / "latin1.toml").write_bytes(b'name = "caf\xe9"')
    with pytest.raises(CommandError, match="cannot read it"):
        call_command("apply_budgets", str(tmp_path / "latin1.toml"))
