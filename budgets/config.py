"""budgets.toml: parsing and checking the file, applying it, and writing the current budgets back as one.

The file is the whole list: applying it creates, updates and removes channels and budgets by name,
in one transaction. A file with any problem changes nothing: `ConfigError` names the line.
"""

import json
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction

from budgets.models import Budget, Channel
from generations.money import from_pico, to_pico

MAX_AMOUNT = Decimal(1_000_000)  # the project's bound on money values
MAX_THRESHOLD = 1000
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
CHANNEL_KEYS = {"name", "kind", "url", "url_env", "recipients", "secret_env", "anomalies", "digest"}
BUDGET_KEYS = {"name", "scope", "amount", "period", "zone", "thresholds", "notify", "notify_reset"}
PERIOD_NAMES = tuple(name for name, _ in Budget.PERIODS)
CHANNEL_KINDS = tuple(name for name, _ in Channel.KINDS)


class ConfigError(Exception):
    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str
    url: str = ""
    url_env: str = ""
    recipients: tuple[str, ...] = ()
    secret_env: str = ""
    anomalies: bool = False  # also hears of spend anomalies
    digest: bool = False  # also gets the weekly digest (email and Slack)


@dataclass(frozen=True)
class BudgetSpec:
    name: str
    scope_kind: str
    scope_value: str
    amount_pico: int
    period: str
    zone: str
    thresholds: tuple[int, ...]
    notify: tuple[str, ...]
    notify_reset: bool = False


@dataclass(frozen=True)
class BudgetsConfig:
    channels: tuple[ChannelSpec, ...]
    budgets: tuple[BudgetSpec, ...]


class _Lines:
    """Finds the line of the n-th `[[table]]` of the file, or of a key inside it: tomllib reports
    lines only for syntax errors, so checks of the values find theirs in the text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def of(self, table: str, index: int, key: str | None = None) -> int | None:
        header = re.compile(rf"\s*\[\[\s*{table}\s*\]\]")
        starts = [number for number, line in enumerate(self.lines) if header.match(line)]
        if index >= len(starts):
            return None
        start = starts[index]
        if key is None:
            return start + 1
        assignment = re.compile(rf"\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start + 1, len(self.lines)):
            if self.lines[number].lstrip().startswith("["):
                break
            if assignment.match(self.lines[number]):
                return number + 1
        return start + 1

    def of_top_level(self, key: str) -> int | None:
        found = re.compile(rf"\s*(\[\[?\s*{re.escape(key)}\s*\]|\"?{re.escape(key)}\"?\s*=)")
        return next((number + 1 for number, line in enumerate(self.lines) if found.match(line)), None)


def parse_config(text: str) -> BudgetsConfig:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message ends "(at line L, column C)"; keep it as written.
        raise ConfigError(f"not valid TOML: {error}") from None
    lines = _Lines(text)
    for key in document:
        if key not in ("channel", "budget"):
            raise ConfigError(
                f"unknown top-level key {key!r}; the file has [[channel]] and [[budget]] tables",
                line=lines.of_top_level(key),
            )
    channels = [_channel(table, index, lines) for index, table in enumerate(_tables(document, "channel"))]
    budgets = [_budget(table, index, lines) for index, table in enumerate(_tables(document, "budget"))]
    _unique(channels, "channel", lines)
    _unique(budgets, "budget", lines)
    known = {channel.name for channel in channels}
    for index, budget in enumerate(budgets):
        for name in budget.notify:
            if name not in known:
                raise ConfigError(
                    f"budget {budget.name!r} notifies {name!r}, which is no [[channel]] of this file",
                    line=lines.of("budget", index, "notify"),
                )
    return BudgetsConfig(channels=tuple(channels), budgets=tuple(budgets))


def _tables(document: dict, table: str) -> list[dict]:
    tables = document.get(table, [])
    if not isinstance(tables, list) or not all(isinstance(item, dict) for item in tables):
        raise ConfigError(f"{table!r} must be a list of tables, written [[{table}]]")
    return tables


def _unique(specs: list, table: str, lines: _Lines) -> None:
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        if spec.name in seen:
            raise ConfigError(f"a second {table} named {spec.name!r}", line=lines.of(table, index, "name"))
        seen.add(spec.name)


class _Table:
    """One [[table]] of the file: typed reads of its keys, each error naming its line."""

    def __init__(self, values: dict, kind: str, index: int, lines: _Lines, allowed: set[str]) -> None:
        self.values, self.kind, self.index, self.lines = values, kind, index, lines
        for key in values:
            if key not in allowed:
                self.fail(key, f"unknown key {key!r} in a [[{kind}]]; allowed: {', '.join(sorted(allowed))}")
        self.name = self.text("name", required=True, max_length=100)

    def fail(self, key: str | None, message: str) -> None:
        named = f"{self.kind} {self.name!r}: " if getattr(self, "name", "") else f"[[{self.kind}]] #{self.index + 1}: "
        raise ConfigError(named + message, line=self.lines.of(self.kind, self.index, key))

    def text(self, key: str, *, required: bool = False, max_length: int = 200, default: str = "") -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str):
            self.fail(key, f"{key} must be a string in quotes")
        value = value.strip()
        if required and not value:
            self.fail(key, f"{key} is required")
        if len(value) > max_length:
            self.fail(key, f"{key} is longer than {max_length} characters")
        return value

    def env_name(self, key: str) -> str:
        value = self.text(key, max_length=100)
        if value and not ENV_NAME.match(value):
            self.fail(key, f"{key} must name an environment variable (letters, digits, _), not {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self.values.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, f"{key} must be true or false")
        return value

    def string_list(self, key: str, default: tuple = ()) -> tuple[str, ...]:
        value = self.values.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, f'{key} must be a list of strings, such as ["a", "b"]')
        return tuple(item.strip() for item in value)


def _channel(values: dict, index: int, lines: _Lines) -> ChannelSpec:
    table = _Table(values, "channel", index, lines, CHANNEL_KEYS)
    kind = table.text("kind", required=True)
    if kind not in CHANNEL_KINDS:
        table.fail("kind", f"kind must be one of {' | '.join(CHANNEL_KINDS)}, not {kind!r}")
    url, url_env = table.text("url", max_length=500), table.env_name("url_env")
    recipients, secret_env = table.string_list("recipients"), table.env_name("secret_env")
    if kind == Channel.EMAIL:
        if url or url_env or secret_env:
            table.fail("url" if url else "url_env" if url_env else "secret_env", "an email channel has recipients only")
        if not recipients:
            table.fail("recipients", 'an email channel needs recipients = ["someone@example.com"]')
        for address in recipients:
            try:
                validate_email(address)
            except ValidationError:
                table.fail("recipients", f"{address!r} is not an email address")
    else:
        if recipients:
            table.fail("recipients", f"a {kind} channel has a url, not recipients")
        if bool(url) == bool(url_env):
            table.fail("url", "give either url or url_env (the variable holding a URL with a token in it)")
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                table.fail("url", "url must be an http:// or https:// URL")
        if kind == Channel.WEBHOOK and not secret_env:
            table.fail("secret_env", "a webhook channel needs secret_env: the variable holding its signing secret")
        if kind == Channel.SLACK and secret_env:
            table.fail("secret_env", "a Slack channel is not signed: leave secret_env out")
    anomalies, digest = table.flag("anomalies"), table.flag("digest")
    if digest and kind == Channel.WEBHOOK:
        table.fail("digest", "the weekly digest goes by email or Slack, not to a webhook")
    return ChannelSpec(table.name, kind, url, url_env, recipients, secret_env, anomalies, digest)


def parse_scope(scope: str) -> tuple[str, str]:
    """ "all" or "kind:value" → (kind, value); ValueError with the reason otherwise."""
    kind, separator, value = scope.partition(":")
    kind, value = kind.strip(), value.strip()
    if kind == "all" and not separator:
        return "all", ""
    if kind not in Budget.SCOPE_KINDS or kind == "all":
        raise ValueError(f"scope must be all, team:NAME, key:HASH, model:NAME or provider:NAME, not {scope!r}")
    if not value:
        raise ValueError(f"scope {scope!r} names no {kind}")
    return kind, value


def parse_amount(amount: str) -> int:
    """A USD amount written as a string ("50.00") → pico-units; ValueError with the reason otherwise."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise ValueError(f'amount must be a number of USD such as "50.00", not {amount!r}') from None
    if not value.is_finite() or value <= 0 or value >= MAX_AMOUNT:
        raise ValueError(f"amount must be more than 0 and less than {MAX_AMOUNT:,} USD, not {amount!r}")
    if value != value.quantize(Decimal(1).scaleb(-12)):
        raise ValueError(f"amount has more than 12 decimal places: {amount!r}")
    return to_pico(value)


def parse_zone(zone: str) -> str:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}; use an IANA name such as Europe/Berlin") from None
    return zone


def parse_thresholds(values: object) -> tuple[int, ...]:
    if not isinstance(values, list) or not values or not all(type(v) is int for v in values):
        raise ValueError("thresholds must be a list of whole percentages, such as [50, 80, 100]")
    if any(not 1 <= v <= MAX_THRESHOLD for v in values):
        raise ValueError(f"each threshold must be from 1 to {MAX_THRESHOLD} (percent)")
    if len(set(values)) != len(values):
        raise ValueError("a threshold is listed twice")
    return tuple(sorted(values))


def _budget(values: dict, index: int, lines: _Lines) -> BudgetSpec:
    table = _Table(values, "budget", index, lines, BUDGET_KEYS)
    checks = {
        "scope": lambda: parse_scope(table.text("scope", required=True)),
        "amount": lambda: parse_amount(_amount_text(table)),
        "zone": lambda: parse_zone(table.text("zone", default="UTC")),
        "thresholds": lambda: parse_thresholds(values.get("thresholds", [50, 80, 100])),
    }
    checked = {}
    for key, check in checks.items():
        try:
            checked[key] = check()
        except ValueError as error:
            table.fail(key, str(error))
    period = table.text("period", default="month")
    if period not in PERIOD_NAMES:
        table.fail("period", f"period must be one of {' | '.join(PERIOD_NAMES)}, not {period!r}")
    notify_reset = values.get("notify_reset", False)
    if not isinstance(notify_reset, bool):
        table.fail("notify_reset", "notify_reset must be true or false")
    notify = table.string_list("notify")
    if len(set(notify)) != len(notify):
        table.fail("notify", "a channel is listed twice")
    scope_kind, scope_value = checked["scope"]
    return BudgetSpec(
        name=table.name,
        scope_kind=scope_kind,
        scope_value=scope_value,
        amount_pico=checked["amount"],
        period=period,
        zone=checked["zone"],
        thresholds=checked["thresholds"],
        notify=notify,
        notify_reset=notify_reset,
    )


def _amount_text(table: _Table) -> str:
    amount = table.values.get("amount")
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        # A TOML float is binary: 0.1 would not be exactly 0.1.
        table.fail("amount", f'write the amount as a string, "{amount}", so it stays exact')
    return table.text("amount", required=True)


# ---------------------------------------------------------------------------------------------
# Applying


def _channel_fields(spec: ChannelSpec) -> dict[str, object]:
    values = {field.name: getattr(spec, field.name) for field in fields(ChannelSpec)}
    values["recipients"] = list(spec.recipients)
    return values


def _budget_fields(spec: BudgetSpec) -> dict[str, object]:
    values = {field.name: getattr(spec, field.name) for field in fields(BudgetSpec) if field.name != "notify"}
    values["thresholds"] = list(spec.thresholds)
    return values


def _shown(name: str, value: object) -> str:
    return f"{from_pico(value):f}" if name == "amount_pico" else json.dumps(value)


def _changed(instance, wanted: dict[str, object]) -> list[str]:
    return [
        f"{name.removesuffix('_pico')} {_shown(name, getattr(instance, name))} → {_shown(name, value)}"
        for name, value in wanted.items()
        if getattr(instance, name) != value
    ]


def budgets_apply(*, config: BudgetsConfig, dry_run: bool = False) -> list[str]:
    """Make the stored channels and budgets exactly the file's; the changes, one line each.
    `dry_run` only lists them."""
    changes: list[str] = []
    with transaction.atomic():
        channels = {channel.name: channel for channel in Channel.objects.select_for_update()}
        for spec in config.channels:
            changes += _apply_one(Channel, channels.get(spec.name), spec.name, _channel_fields(spec), dry_run)
        budgets = {budget.name: budget for budget in Budget.objects.select_for_update().prefetch_related("channels")}
        for spec in config.budgets:
            existing = budgets.get(spec.name)
            changes += _apply_one(Budget, existing, spec.name, _budget_fields(spec), dry_run)
            before = sorted(channel.name for channel in existing.channels.all()) if existing else []
            if sorted(spec.notify) != before:
                if existing:
                    changes.append(
                        f"update budget {spec.name!r}: notify {json.dumps(before)} → {json.dumps(spec.notify)}"
                    )
                if not dry_run:
                    Budget.objects.get(name=spec.name).channels.set(Channel.objects.filter(name__in=spec.notify))
        wanted_budgets = {spec.name for spec in config.budgets}
        wanted_channels = {spec.name for spec in config.channels}
        for name in sorted(set(budgets) - wanted_budgets):
            changes.append(f"remove budget {name!r}")
        for name in sorted(set(channels) - wanted_channels):
            changes.append(f"remove channel {name!r}")
        if not dry_run:
            Budget.objects.exclude(name__in=wanted_budgets).delete()
            Channel.objects.exclude(name__in=wanted_channels).delete()
    return changes


def _apply_one(model, instance, name: str, wanted: dict[str, object], dry_run: bool) -> list[str]:
    label = model._meta.model_name
    if instance is None:
        if not dry_run:
            model.objects.create(**wanted)
        return [f"create {label} {name!r}"]
    differences = _changed(instance, wanted)
    if differences and not dry_run:
        for field_name, value in wanted.items():
            setattr(instance, field_name, value)
        instance.save()
    return [f"update {label} {name!r}: {', '.join(differences)}"] if differences else []


# ---------------------------------------------------------------------------------------------
# Writing the stored budgets as a file


def _toml(value: object) -> str:
    # JSON's strings, integers, booleans and arrays are valid TOML values.
    return json.dumps(value, ensure_ascii=False)


def budgets_export() -> str:
    """The stored channels and budgets as a budgets.toml that `apply_budgets` reads back unchanged."""
    blocks = []
    for channel in Channel.objects.all():
        lines = ["[[channel]]", f"name = {_toml(channel.name)}", f"kind = {_toml(channel.kind)}"]
        for key in ("url", "url_env", "secret_env"):
            if getattr(channel, key):
                lines.append(f"{key} = {_toml(getattr(channel, key))}")
        if channel.recipients:
            lines.append(f"recipients = {_toml(channel.recipients)}")
        lines += [f"{key} = true" for key in ("anomalies", "digest") if getattr(channel, key)]
        blocks.append("\n".join(lines))
    for budget in Budget.objects.prefetch_related("channels"):
        lines = [
            "[[budget]]",
            f"name = {_toml(budget.name)}",
            f"scope = {_toml(budget.scope)}",
            f"amount = {_toml(f'{budget.amount:f}')}",
            f"period = {_toml(budget.period)}",
            f"zone = {_toml(budget.zone)}",
            f"thresholds = {_toml(budget.thresholds)}",
            f"notify = {_toml(sorted(channel.name for channel in budget.channels.all()))}",
        ]
        if budget.notify_reset:
            lines.append("notify_reset = true")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
