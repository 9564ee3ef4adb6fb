"""A faithful fake of FastRouter's ``POST /api/v1/generation`` (Get Generation Details) and
``GET /api/v1/models`` (the model catalogue).

Framework-free on purpose: tests, benchmarks and the ``fastrouter_simulator`` management
command all drive it without Django. Payloads are derived from a hash of the generation id,
so the same id always describes the same generation; faults come from a separately seeded
RNG so a run with a given ``seed`` misbehaves the same way every time.

Over 600 lines on purpose: one fake server, dev and test only, whose payload, catalogue and fault
rules read best side by side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import signal
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

SIMULATOR_ID_PREFIX = "gen-sim-"
GENERATION_PATH = "/api/v1/generation"
MODELS_PATH = "/api/v1/models"
MAX_ID_LENGTH = 256
MAX_BODY_BYTES = 64 * 1024
HISTORY_DAYS = 30

_SIMULATOR_ID_RE = re.compile(re.escape(SIMULATOR_ID_PREFIX) + r"[0-9a-f]{12}\Z")
_INVALID_ID_CHAR_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_NANO_USD = Decimal("0.000000001")
_PER_MILLION = Decimal(1_000_000)


def simulator_id(n: int, seed: str = "demo") -> str:
    digest = hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()
    return SIMULATOR_ID_PREFIX + digest[:12]


def demo_ids(count: int, seed: str = "demo") -> list[str]:
    return [simulator_id(n, seed) for n in range(count)]


def is_simulator_id(generation_id: str) -> bool:
    return bool(_SIMULATOR_ID_RE.match(generation_id))


# --- Catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPrice:
    model: str
    provider: str
    input_per_million: Decimal
    output_per_million: Decimal
    weight: int  # relative popularity: cheap models dominate real traffic
    tokens_per_second: int


def _m(model: str, provider: str, inp: str, out: str, weight: int, tps: int) -> ModelPrice:
    return ModelPrice(model, provider, Decimal(inp), Decimal(out), weight, tps)


CHAT_MODELS: tuple[ModelPrice, ...] = (
    _m("openai/gpt-4o-mini", "openai", "0.15", "0.60", 20, 85),
    _m("openai/gpt-4.1-nano", "openai", "0.10", "0.40", 8, 120),
    _m("openai/gpt-4o", "openai", "2.50", "10.00", 6, 70),
    _m("anthropic/claude-sonnet-4", "anthropic", "3.00", "15.00", 6, 60),
    _m("anthropic/claude-3-5-haiku", "anthropic", "0.80", "4.00", 8, 75),
    _m("google/gemini-2.5-flash", "google", "0.30", "2.50", 14, 150),
    _m("google/gemini-2.5-pro", "google", "1.25", "10.00", 4, 70),
    _m("meta-llama/llama-3.3-70b-instruct", "groq", "0.59", "0.79", 8, 275),
    _m("meta-llama/llama-3.3-70b-instruct", "together", "0.88", "0.88", 4, 90),
    _m("mistralai/mistral-large", "mistral", "2.00", "6.00", 3, 45),
    _m("deepseek/deepseek-chat", "deepseek", "0.27", "1.10", 10, 35),
    _m("x-ai/grok-3-mini", "xai", "0.30", "0.50", 6, 100),
)
EMBEDDING_MODEL = _m("openai/text-embedding-3-small", "openai", "0.02", "0.00", 1, 0)
MODELS: tuple[ModelPrice, ...] = (*CHAT_MODELS, EMBEDDING_MODEL)

# The demo's one price change, so the catalogue has a price history to show: halfway through the
# demo history FastRouter cut gpt-4o-mini's prices by a fifth. Generations after the change cost the
# new prices; the catalogue serves the prices in force at the simulator's clock.
PRICE_CUTS: dict[str, tuple[Decimal, Decimal]] = {"openai/gpt-4o-mini": (Decimal("0.12"), Decimal("0.48"))}
PRICE_CHANGE_BEFORE_ANCHOR = timedelta(days=HISTORY_DAYS / 2)
CONTEXT_LENGTHS: dict[str, int] = {
    "openai/gpt-4o-mini": 128_000,
    "openai/gpt-4.1-nano": 1_047_576,
    "openai/gpt-4o": 128_000,
    "anthropic/claude-sonnet-4": 200_000,
    "anthropic/claude-3-5-haiku": 200_000,
    "google/gemini-2.5-flash": 1_048_576,
    "google/gemini-2.5-pro": 1_048_576,
    "meta-llama/llama-3.3-70b-instruct": 131_072,
    "mistralai/mistral-large": 128_000,
    "deepseek/deepseek-chat": 64_000,
    "x-ai/grok-3-mini": 131_072,
    "openai/text-embedding-3-small": 8_192,
}
# Catalogue entries no demo generation uses: what-if targets, a per-request price, and a
# gateway-style "-1" (variable) price.
EXTRA_CATALOGUE: tuple[dict[str, Any], ...] = (
    {
        "id": "perplexity/sonar",
        "name": "Sonar",
        "owned_by": "perplexity",
        "context_length": 127_072,
        "pricing": {"prompt": "0.000001", "completion": "0.000001", "request": "0.005"},
    },
    {
        "id": "fastrouter/auto",
        "name": "Auto router",
        "owned_by": "fastrouter",
        "context_length": 128_000,
        "pricing": {"prompt": "-1", "completion": "-1"},
    },
)

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
_ENDPOINT_WEIGHTS = (85, 10, 5)

API_KEY_HASHES: tuple[str, ...] = tuple(
    "sha256:" + hashlib.sha256(f"fastrouter-sim-key-{i}".encode()).hexdigest()[:12] for i in range(8)
)
_API_KEY_WEIGHTS = (30, 20, 15, 10, 10, 8, 5, 2)

TEAM_APPS: dict[str, str] = {
    "support-bot": "helpdesk-assistant",
    "search": "docs-search",
    "growth": "email-personaliser",
    "data-science": "notebook-copilot",
    "platform": "incident-summariser",
}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1")

SYSTEM_PROMPTS = (
    "You are a concise assistant.",
    "You are a helpful customer-support agent for an online retailer. Be friendly and brief.",
    "You are a senior software engineer. Answer with working code and short explanations.",
    "You are a data analyst. Be precise and state your assumptions.",
    "You write marketing copy in a warm, plain-spoken voice.",
)

# (user prompt, assistant answer) pairs so requests and responses read coherently.
CONVERSATIONS: tuple[tuple[str, str], ...] = (
    (
        "Summarise the attached incident report in three bullet points.",
        (
            "- The outage began at 02:10 UTC.\n- A bad config push caused it.\n"
            "- Rollback restored service in 41 minutes."
        ),
    ),
    (
        "Where is my order #48213? It was supposed to arrive yesterday.",
        (
            "I'm sorry for the delay. Order #48213 left our warehouse on Monday and the carrier "
            "now expects delivery tomorrow before 6 pm."
        ),
    ),
    (
        "Write a Python function that checks whether a string is a palindrome.",
        (
            "def is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]"
            "\n    return cleaned == cleaned[::-1]"
        ),
    ),
    (
        "Translate 'Your subscription renews on 1 March' into German and French.",
        ("German: Ihr Abonnement verlängert sich am 1. März.\nFrench: Votre abonnement sera renouvelé le 1er mars."),
    ),
    (
        "Explain the difference between a process and a thread to a junior developer.",
        (
            "A process has its own memory space; threads live inside a process and share its "
            "memory, which makes them cheaper to create but easier to corrupt with races."
        ),
    ),
    (
        "Draft a subject line for our spring sale email, under 50 characters.",
        "Spring into savings: 25% off everything 🌷",
    ),
    (
        "What SQL query returns the ten customers with the highest lifetime spend?",
        (
            "SELECT customer_id, SUM(amount) AS lifetime_spend\nFROM orders\n"
            "GROUP BY customer_id\nORDER BY lifetime_spend DESC\nLIMIT 10;"
        ),
    ),
    (
        "Classify the sentiment of this review: 'Arrived late, but the quality is superb.'",
        "Mixed, leaning positive: negative about delivery, strongly positive about quality.",
    ),
    (
        "Give me a regex that matches UK postcodes.",
        (
            r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$ — it covers the common formats; validate "
            "against the Royal Mail list if you need certainty."
        ),
    ),
    (
        "Why does my React component re-render on every keystroke?",
        (
            "Each keystroke updates state in the parent, so every child re-renders. Memoise the "
            "child with React.memo and keep callbacks stable with useCallback."
        ),
    ),
    (
        "Extract the invoice number, date and total from this text as JSON.",
        '{"invoice_number": "INV-2291", "date": "2025-10-03", "total": "1,240.00 EUR"}',
    ),
    (
        "Suggest three names for an internal tool that tracks LLM spending.",
        "1. TokenLedger\n2. SpendScope\n3. Meterwise",
    ),
    (
        "How do I rotate an API key without downtime?",
        (
            "Issue the new key, deploy it alongside the old one, switch traffic, watch for "
            "errors, then revoke the old key once its usage drops to zero."
        ),
    ),
    (
        "Rewrite this paragraph to be clearer: 'The thing is that we might possibly be late.'",
        "We may be late.",
    ),
    (
        "What is the capital of Australia, and why isn't it Sydney?",
        "Canberra. It was purpose-built as a compromise between rivals Sydney and Melbourne.",
    ),
    (
        "Write a unit test for a function that adds VAT at 20%.",
        "def test_add_vat():\n    assert add_vat(Decimal('100')) == Decimal('120.00')",
    ),
    (
        "List the pros and cons of PostgreSQL versus SQLite for a small dashboard.",
        (
            "SQLite: zero setup, one file, great for a single writer. PostgreSQL: concurrent "
            "writers, richer types, proper backups — worth it once several processes write."
        ),
    ),
    (
        "Customer says the app logs them out every hour. What should I ask them?",
        (
            "Ask which device and app version they use, whether 'remember me' is ticked, and "
            "whether they switch networks or use a VPN."
        ),
    ),
    (
        "Explain what a p95 latency is in one sentence.",
        "It is the response time that 95% of requests beat — the slowest 5% take longer.",
    ),
    (
        "Turn these meeting notes into action items with owners.",
        ("- Priya: send revised budget by Friday.\n- Tom: book the venue.\n- Alex: draft the launch announcement."),
    ),
)


# --- Payload generation ------------------------------------------------------------------


def _weighted(rng: random.Random, items: tuple[Any, ...], weights: tuple[int, ...]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


def _log_normal_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(rng.lognormvariate(math.log(median), sigma))))


def compute_cost(model: ModelPrice, input_tokens: int, output_tokens: int) -> Decimal:
    raw = (input_tokens * model.input_per_million + output_tokens * model.output_per_million) / (_PER_MILLION)
    return raw.quantize(_NANO_USD, rounding=ROUND_HALF_EVEN)


def price_change_at(now: datetime) -> datetime:
    """When the demo's price cut took effect, for a simulator whose clock reads ``now``."""
    return _anchor(now) - PRICE_CHANGE_BEFORE_ANCHOR


def priced_at(model: ModelPrice, moment: datetime, *, now: datetime) -> ModelPrice:
    """``model`` with the prices in force at ``moment``."""
    cut = PRICE_CUTS.get(model.model)
    if cut is None or moment < price_change_at(now):
        return model
    return replace(model, input_per_million=cut[0], output_per_million=cut[1])


def catalogue_payload(*, now: datetime, as_of: datetime | None = None) -> dict[str, Any]:
    """The ``GET /api/v1/models`` answer: every demo model at the prices in force at ``as_of``
    (default ``now``). A model served by two providers at two prices (Llama 3.3 70B) is listed once,
    at its first provider's price, as a catalogue keyed by model id must: the other's calls differ."""
    moment = as_of or now
    entries: dict[str, dict[str, Any]] = {}
    for listed in MODELS:
        if listed.model in entries:
            continue
        model = priced_at(listed, moment, now=now)
        entries[model.model] = {
            "id": model.model,
            "name": model.model.split("/", 1)[1],
            "object": "model",
            "created": 1_735_689_600,
            "owned_by": model.model.split("/", 1)[0],
            "context_length": CONTEXT_LENGTHS[model.model],
            "max_completion_tokens": 16_384,
            "pricing": {
                "prompt": f"{model.input_per_million / _PER_MILLION:f}",
                "completion": f"{model.output_per_million / _PER_MILLION:f}",
            },
        }
    return {"object": "list", "data": [*entries.values(), *EXTRA_CATALOGUE]}


def _anchor(now: datetime) -> datetime:
    """``now`` floored to the hour: every time of the demo history counts back from it."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _duration_ms(rng: random.Random, model: ModelPrice, input_tokens: int, output: int) -> int:
    time_to_first_token = rng.lognormvariate(math.log(350), 0.5) + input_tokens / 20
    generation = output / model.tokens_per_second * 1000 * rng.lognormvariate(0, 0.3) if output else 0.0
    total = time_to_first_token + generation
    # Provider queueing gives real traffic its long tail.
    if rng.random() < 0.04:
        total *= rng.uniform(3, 10)
    return max(300, min(40_000, round(total)))


def _iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def generation_payload(generation_id: str, *, now: datetime, extra_fields: bool = True) -> dict[str, Any] | None:
    """The details of a simulator generation, or None for an id the simulator never issued.

    Money values are Decimals; serialise with :func:`dumps` to keep them exact. Times are
    anchored to ``now`` floored to the hour, so re-fetching an id within the hour gives the
    same answer while all times stay within the 30 days before ``now``.
    """
    if not is_simulator_id(generation_id):
        return None
    anchor = _anchor(now)
    rng = random.Random(int.from_bytes(hashlib.sha256(generation_id.encode()).digest()[:8]))

    endpoint, model, input_tokens, max_tokens, output_tokens, finish_reason = _call_shape(rng)
    duration_ms = _duration_ms(rng, model, input_tokens, output_tokens)

    # Whole request (start and completion) lies inside the 30 days before the anchor.
    window_ms = HISTORY_DAYS * 86_400_000
    started = anchor - timedelta(milliseconds=rng.randint(duration_ms + 1, window_ms - 1))
    cost = compute_cost(priced_at(model, started, now=now), input_tokens, output_tokens)
    completed = started + timedelta(milliseconds=duration_ms)
    started_at = int(started.timestamp())

    system_prompt = rng.choice(SYSTEM_PROMPTS)
    user_prompt, answer = rng.choice(CONVERSATIONS)
    temperature = rng.choice((0, 0.2, 0.3, 0.7, 1.0))
    request, response = _request_and_response(
        endpoint,
        generation_id,
        model.model,
        system_prompt,
        user_prompt,
        answer,
        temperature=temperature,
        max_tokens=max_tokens,
        created=started_at,
        finish_reason=finish_reason,
        usage=(input_tokens, output_tokens),
        rng=rng,
    )
    payload = _payload(
        generation_id,
        rng,
        model=model,
        endpoint=endpoint,
        cost=cost,
        started=started,
        completed=completed,
        usage=(input_tokens, output_tokens),
        bodies=(request, response),
    )
    # Fields the spec doesn't list appear in real answers; clients must ignore them.
    if rng.random() < 0.15 and extra_fields:
        payload["cache_discount"] = 0
    return payload


def _call_shape(rng: random.Random) -> tuple[str, Any, int, int, int, str]:
    """(endpoint, model, input tokens, max tokens, output tokens, finish reason) of one call."""
    endpoint = _weighted(rng, ENDPOINTS, _ENDPOINT_WEIGHTS)
    if endpoint == "/v1/embeddings":
        model = EMBEDDING_MODEL
    else:
        model = _weighted(rng, CHAT_MODELS, tuple(m.weight for m in CHAT_MODELS))
    input_tokens = _log_normal_int(rng, 600, 1.0, 50, 8000)
    max_tokens = rng.choice((256, 512, 1024, 2048))
    output_tokens = _log_normal_int(rng, 220, 0.9, 5, 2000)
    finish_reason = "stop"
    if output_tokens >= max_tokens:
        output_tokens, finish_reason = max_tokens, "length"
    if model is EMBEDDING_MODEL:
        output_tokens = 0
    return endpoint, model, input_tokens, max_tokens, output_tokens, finish_reason


def _payload(
    generation_id: str,
    rng: random.Random,
    *,
    model: Any,
    endpoint: str,
    cost: Any,
    started: datetime,
    completed: datetime,
    usage: tuple[int, int],
    bodies: tuple[Any, Any],
) -> dict[str, Any]:
    """The answer's fields, in FastRouter's order (the rest of the call's random draws)."""
    input_tokens, output_tokens = usage
    request, response = bodies
    duration_ms = round((completed - started).total_seconds() * 1000)
    started_at = int(started.timestamp())
    team = rng.choice(tuple(TEAM_APPS))
    payload: dict[str, Any] = {
        "id": generation_id,
        "model": model.model,
        "provider_name": model.provider,
        "api_key": _weighted(rng, API_KEY_HASHES, _API_KEY_WEIGHTS),
        "credits_used": cost,
        "query_time": _iso_ms(started),
        "avg_response_time_minutes_per_transaction": duration_ms / 60_000,
        # Tokens per nanosecond, as the field name says (hence the tiny magnitude).
        "avg_tokens_per_nano": output_tokens / (duration_ms * 1_000_000),
        "input_token_size": input_tokens,
        "output_token_size": output_tokens,
        "is_byok": rng.random() < 0.10,
        "endpoint": endpoint,
        "created_at": started_at,
        "request": request,
        "response": response,
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "cost": cost,
        },
        "timing": {
            "started_at": started_at,
            "completed_at": int(completed.timestamp()),
            "duration_ms": duration_ms,
        },
        "metadata": {
            "team": team,
            "region": rng.choice(REGIONS),
            "app": TEAM_APPS[team],
        },
    }
    return payload


def _request_and_response(
    endpoint: str,
    generation_id: str,
    model: str,
    system_prompt: str,
    user_prompt: str,
    answer: str,
    *,
    temperature: float,
    max_tokens: int,
    created: int,
    finish_reason: str,
    usage: tuple[int, int],
    rng: random.Random,
) -> tuple[dict[str, Any], dict[str, Any]]:
    prompt_tokens, completion_tokens = usage
    usage_block = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if endpoint == "/v1/embeddings":
        return _embedding_request_and_response(model, user_prompt, prompt_tokens, rng)
    if endpoint == "/v1/completions":
        request = {
            "model": model,
            "prompt": f"{system_prompt}\n\n{user_prompt}",
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        choice = {"index": 0, "text": answer, "finish_reason": finish_reason}
        obj = "text_completion"
    else:
        request = {
            "model": model,
            "messages": [
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": user_prompt},
            ],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        choice = {
            "index": 0,
            "finish_reason": finish_reason,
            "message": {"role": "assistant", "content": answer},
        }
        obj = "chat.completion"
    response = {
        "id": generation_id,
        "object": obj,
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": usage_block,
    }
    return request, response


def _embedding_request_and_response(
    model: str, text: str, prompt_tokens: int, rng: random.Random
) -> tuple[dict[str, Any], dict[str, Any]]:
    request = {"model": model, "input": text}
    response = {
        "object": "list",
        "model": model,
        "data": [
            {
                "object": "embedding",
                "index": 0,
                "embedding": [round(rng.uniform(-0.1, 0.1), 6) for _ in range(8)],
            }
        ],
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    return request, response


# --- Exact JSON --------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text in which every Decimal is written as its exact number literal.

    The stdlib encoder only knows floats (and its C path ignores float-subclass reprs),
    so Decimals are spliced in by hand.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}: {dumps(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


# --- Server ------------------------------------------------------------------------------

RetryAfterFormat = Literal["seconds", "http-date", "mixed"]
# The key under which status_counts() counts connections reset without an answer.
RESET_STATUS = 0
MALFORMED_KINDS = ("truncated", "html", "array", "wrong_types")


@dataclass
class SimulatorConfig:
    api_key: str = "sim-local-key"
    rpm_limit: int | None = None
    # The RPM limit's sliding window; tests shorten it so a 429 storm passes in seconds.
    rpm_window_seconds: float = 60.0
    retry_after_format: RetryAfterFormat = "seconds"
    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    malformed_rate: float = 0.0
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    not_found_for_seconds: float = 0.0
    # Share of requests answered by closing the socket (TCP reset) without a response.
    reset_rate: float = 0.0
    # Share of requests refused with 429 + Retry-After: 1 however few were sent, as a provider's
    # burst limiter does (the RPM window above only refuses requests over its limit).
    throttle_rate: float = 0.0
    extra_fields: bool = True
    seed: int = 0
    verbose: bool = False
    # Injectable so tests can move time instead of sleeping.
    clock: Callable[[], float] = field(default=time.time, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if self.rpm_limit is not None and self.rpm_limit < 1:
            raise ValueError("rpm_limit must be at least 1")
        if self.retry_after_format not in ("seconds", "http-date", "mixed"):
            raise ValueError("retry_after_format must be seconds, http-date or mixed")
        for name in ("error_rate", "slow_rate", "malformed_rate", "reset_rate", "throttle_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not self.malformed_kinds or set(self.malformed_kinds) - set(MALFORMED_KINDS):
            raise ValueError(f"malformed_kinds must be some of {', '.join(MALFORMED_KINDS)}")
        if self.rpm_window_seconds <= 0:
            raise ValueError("rpm_window_seconds must be positive")
        if self.slow_seconds < 0 or self.not_found_for_seconds < 0:
            raise ValueError("slow_seconds and not_found_for_seconds must not be negative")


@dataclass(frozen=True)
class _Faults:
    slow: bool
    error_status: int | None
    malformed: str | None


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: SimulatorConfig, address: tuple[str, int]) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        # Its own stream, so turning resets on doesn't reshuffle the other faults of a seed.
        self._reset_rng = random.Random(f"reset:{config.seed}")
        self._throttle_rng = random.Random(f"throttle:{config.seed}")
        self._recent: deque[float] = deque()
        self._first_seen: dict[str, float] = {}
        self._rate_limited = 0
        self._counts: Counter[int] = Counter()
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{GENERATION_PATH}"

    def status_counts(self) -> dict[int, int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def count(self, status: int) -> None:
        with self._lock:
            self._counts[status] += 1

    def draw_reset(self) -> bool:
        if not self.config.reset_rate:
            return False
        with self._lock:
            return self._reset_rng.random() < self.config.reset_rate

    def admit(self) -> tuple[bool, float]:
        """Sliding-window RPM check: (admitted, seconds until a slot frees up)."""
        limit = self.config.rpm_limit
        if self.config.throttle_rate:
            with self._lock:
                if self._throttle_rng.random() < self.config.throttle_rate:
                    return False, 1.0
        if limit is None:
            return True, 0.0
        now = self.config.clock()
        with self._lock:
            window = self.config.rpm_window_seconds
            while self._recent and self._recent[0] <= now - window:
                self._recent.popleft()
            if len(self._recent) < limit:
                self._recent.append(now)
                return True, 0.0
            return False, self._recent[0] + window - now

    def retry_after_value(self, wait: float) -> str:
        seconds = max(1, math.ceil(wait))
        fmt = self.config.retry_after_format
        if fmt == "mixed":
            with self._lock:
                self._rate_limited += 1
                fmt = "seconds" if self._rate_limited % 2 else "http-date"
        if fmt == "seconds":
            return str(seconds)
        return formatdate(self.config.clock() + seconds, usegmt=True)

    def draw_faults(self) -> _Faults:
        cfg = self.config
        with self._lock:
            # Always draw the same count so one fault's rate doesn't reshuffle the others.
            u_slow, u_error, u_malformed = (self._rng.random() for _ in range(3))
            status = self._rng.choice((500, 502, 503))
            kind = self._rng.choice(cfg.malformed_kinds)
        return _Faults(
            slow=u_slow < cfg.slow_rate,
            error_status=status if u_error < cfg.error_rate else None,
            malformed=kind if u_malformed < cfg.malformed_rate else None,
        )

    def still_hidden(self, generation_id: str) -> bool:
        """True while a freshly seen id should answer 404 (FastRouter's ingestion lag)."""
        if not self.config.not_found_for_seconds:
            return False
        now = self.config.clock()
        with self._lock:
            first = self._first_seen.setdefault(generation_id, now)
        return now - first < self.config.not_found_for_seconds


def _error_body(status: int, message: str, error_type: str, code: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": error_type,
            "code": code,
            "status": status,
        }
    }


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks measure the app not TCP setup
    server_version = "FastRouterSimulator/1.0"

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.config.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        body = self._read_body()
        if body is None:
            self._send_json(
                400,
                _error_body(400, "Invalid request body", "invalid_request_error", "bad_request"),
            )
            return
        if self.path.split("?", 1)[0] == MODELS_PATH:
            self._answer_catalogue()
            return
        if self.path.split("?", 1)[0] != GENERATION_PATH:
            self._send_json(404, _error_body(404, "Not found", "invalid_request_error", "not_found"))
            return
        if self.command != "POST":
            self._send_json(
                405,
                _error_body(
                    405,
                    "Method not allowed",
                    "invalid_request_error",
                    "method_not_allowed",
                ),
                {"Allow": "POST"},
            )
            return
        if not self._authorised():
            self._send_json(
                401,
                _error_body(401, "Invalid API key", "authentication_error", "invalid_api_key"),
                {"WWW-Authenticate": 'Bearer realm="fastrouter"'},
            )
            return
        admitted, wait = self.server.admit()
        if not admitted:
            self._send_json(
                429,
                _error_body(
                    429,
                    "Rate limit exceeded (RPM)",
                    "rate_limit_error",
                    "rate_limit_exceeded",
                ),
                {"Retry-After": self.server.retry_after_value(wait)},
            )
            return
        generation_id, problem = _parse_generation_id(body)
        if generation_id is None:
            self._send_json(
                400,
                _error_body(400, problem, "invalid_request_error", "invalid_generation_id"),
            )
            return
        self._answer(generation_id)

    def _answer_catalogue(self) -> None:
        """The catalogue needs no key, as FastRouter's does not."""
        if self.command != "GET":
            body = _error_body(405, "Method not allowed", "invalid_request_error", "method_not_allowed")
            self._send_json(405, body, {"Allow": "GET"})
            return
        now = datetime.fromtimestamp(self.server.config.clock(), UTC)
        self._send_json(200, catalogue_payload(now=now))

    def _answer(self, generation_id: str) -> None:
        server, cfg = self.server, self.server.config
        if server.draw_reset():
            self._reset_connection()
            return
        faults = server.draw_faults()
        if faults.slow:
            cfg.sleep(cfg.slow_seconds)
        if faults.error_status == 502:
            # What a load balancer in front of FastRouter sends: HTML, not JSON.
            page = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            self._send(502, page, "text/html; charset=utf-8")
            return
        if faults.error_status is not None:
            headers = {"Retry-After": "5"} if faults.error_status == 503 else {}
            self._send_json(
                faults.error_status,
                _error_body(
                    faults.error_status,
                    "Upstream error",
                    "server_error",
                    "internal_error",
                ),
                headers,
            )
            return
        now = datetime.fromtimestamp(cfg.clock(), UTC)
        payload = generation_payload(generation_id, now=now, extra_fields=cfg.extra_fields)
        if payload is None or server.still_hidden(generation_id):
            self._send_json(
                404,
                _error_body(
                    404,
                    "Generation not found or expired",
                    "invalid_request_error",
                    "not_found",
                ),
            )
            return
        if faults.malformed is not None:
            self._send_malformed(faults.malformed, payload)
            return
        self._send_json(200, payload)

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP RST and no answer (counted under status 0)."""
        self.server.count(RESET_STATUS)
        self.close_connection = True
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send_malformed(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "html":
            page = b"<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>"
            self._send(200, page, "text/html; charset=utf-8")
            return
        if kind == "truncated":
            text = dumps(payload)
            self._send(200, text[: len(text) // 2].encode(), "application/json")
            return
        if kind == "array":
            self._send_json(200, [payload])
            return
        broken = dict(payload)
        broken["credits_used"] = str(payload["credits_used"])
        broken["input_token_size"] = str(payload["input_token_size"])
        # The same values, other types: a client that reads them right stores what a clean answer gives.
        broken["is_byok"] = "true" if payload["is_byok"] else "false"
        broken["created_at"] = datetime.fromtimestamp(payload["created_at"], UTC).isoformat()
        self._send_json(200, broken)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(token.strip().encode(), self.server.config.api_key.encode())

    def _read_body(self) -> bytes | None:
        """The request body, or None if it can't be read safely (connection is then closed)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, dumps(body).encode(), "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Counted before answering, so a client that has its answer sees it counted.
        self.server.count(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _parse_generation_id(body: bytes) -> tuple[str | None, str]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None, "Request body must be a JSON object"
    if not isinstance(data, dict):
        return None, "Request body must be a JSON object"
    generation_id = data.get("generation_id")
    if not isinstance(generation_id, str) or not generation_id:
        return None, "generation_id is required and must be a non-empty string"
    if len(generation_id) > MAX_ID_LENGTH:
        return None, f"generation_id must be at most {MAX_ID_LENGTH} characters"
    if _INVALID_ID_CHAR_RE.search(generation_id):
        return None, "generation_id must not contain whitespace or control characters"
    return generation_id, ""


def make_server(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    """A bound, not yet serving, simulator; port 0 picks a free port (see ``server.url``)."""
    return SimulatorServer(config, (host, port))


def serve_until_signalled(server: SimulatorServer) -> None:
    """Serve until SIGINT/SIGTERM, then shut down cleanly. Call from the main thread."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    # serve_forever runs in a thread because shutdown() from a signal handler on the
    # serving thread would deadlock.
    worker = threading.Thread(target=server.serve_forever, name="fastrouter-simulator")
    worker.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        worker.join()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
