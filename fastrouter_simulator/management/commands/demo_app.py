"""`demo_app`: a small application "calling FastRouter" (the simulator) whose ids reach the dashboard on their own.

`make run` starts it beside the dashboard, so every way in shows live on the Coverage page. Each call gets a
fresh generation id (one the simulator answers, as FastRouter would have given it), which goes, in turn:

- to the reporter (contrib/reporter/fastrouter_dash_reporter.py, imported from its file as an application
  that copied it would): ``reporter.report(generation_id, feature=..., user=...)``;
- to a JSON Lines log (``--log``), which ``follow_log`` tails.

Once the dashboard answers, one call is also traced with the OpenTelemetry SDK and exported over OTLP/HTTP
to ``/api/ingest/otlp/v1/traces``, as an instrumented application would (skipped, with a notice, when the
SDK is not installed: it is a development requirement).
"""

import importlib
import itertools
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from fastrouter_simulator.server import simulator_id
from generations.ingest.models import IngestToken
from generations.ingest.tokens import ingest_token_create, ingest_token_revoke

DEMO_INTEGRATION = "demo app (make run)"
FEATURES = ("search", "chat", "summaries")
MODEL = "openai/gpt-4o-mini"


class Command(BaseCommand):
    help = "Run a small example application whose generation ids reach the dashboard by reporter, log and OTLP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dashboard", default="http://127.0.0.1:8000", help="the dashboard's address")
        parser.add_argument("--log", default=str(settings.DATA_DIR / "demo-app.log"), help="the JSON Lines log")
        parser.add_argument(
            "--spool-dir",
            default=str(settings.DATA_DIR / "demo-app-spool"),
            help="the reporter's spool: ids not sent when the demo stops are sent by the next run",
        )
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between calls (2)")
        parser.add_argument("--count", type=int, default=0, help="calls to make, then stop (0: until stopped)")
        parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the dashboard at the end")

    def handle(
        self, *args: Any, dashboard: str, log: str, spool_dir: str, interval: float, count: int, wait: float, **_: Any
    ) -> None:
        token = self._fresh_token()
        reporter = _reporter_class()(dashboard, token, spool_dir=spool_dir, backoff_max=5.0)
        # New ids every run: ids already stored would not arrive again.
        seed = f"demo-app-{time.time_ns()}"
        log_path = Path(log)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        traced = False

        def trace_once_the_dashboard_answers() -> bool:
            if not traced and reporter.stats["sent"]:
                self._export_one_span(dashboard, token, simulator_id(0, seed + "-otlp"))
                return True
            return traced

        # Honcho stops its processes with SIGTERM: leave through the finally below, which flushes the reporter.
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(f"Demo app: a call every {interval:g} s; ids to {dashboard} by reporter and to {log_path}.")
        try:
            for call in range(count) if count else itertools.count():
                generation_id = simulator_id(call, seed)
                if call % 2 == 0:
                    reporter.report(generation_id, feature=FEATURES[call % 3], user=str(call % 7))
                else:
                    _log_call(log_path, generation_id, call)
                traced = trace_once_the_dashboard_answers()
                time.sleep(interval)
            deadline = time.monotonic() + wait
            while not traced and time.monotonic() < deadline:
                time.sleep(0.1)
                traced = trace_once_the_dashboard_answers()
        finally:
            signal.signal(signal.SIGTERM, previous)
            reporter.close(timeout=10)
        self.stdout.write(f"Demo app done: {reporter.stats['sent']} ids sent by the reporter.")

    def _fresh_token(self) -> str:
        """A new token for this run; the raw value of an earlier one is unknown (only hashes are kept), so those
        are revoked: a demo leaves no working token behind."""
        ingest_token_revoke(tokens=IngestToken.objects.filter(name=DEMO_INTEGRATION))
        return ingest_token_create(name=DEMO_INTEGRATION)[1]

    def _export_one_span(self, dashboard: str, token: str, generation_id: str) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.trace import SpanKind
        except ImportError:
            self.stdout.write("No OTLP export: the OpenTelemetry SDK is not installed (requirements-dev.txt).")
            return
        # The exporter settings an application would give in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and _HEADERS.
        exporter = OTLPSpanExporter(
            endpoint=f"{dashboard.rstrip('/')}/api/ingest/otlp/v1/traces",
            headers={"Authorization": f"Bearer {token}"},
        )
        provider = TracerProvider(resource=Resource.create({"service.name": "demo-app"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("demo_app").start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": MODEL,
                    "gen_ai.response.id": generation_id,
                    "gen_ai.usage.input_tokens": 42,
                    "gen_ai.usage.output_tokens": 17,
                    "feature": "tracing",
                }
            )
        provider.shutdown()
        self.stdout.write(f"Exported one OpenTelemetry span with gen_ai.response.id {generation_id}.")


def _reporter_class() -> type:
    """The reporter as applications use it: its one file, on the import path."""
    directory = str(settings.BASE_DIR / "contrib" / "reporter")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module("fastrouter_dash_reporter").Reporter


def _log_call(path: Path, generation_id: str, call: int) -> None:
    """One line of the application's own log, as many applications already write one per LLM call."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": "llm_call",
        "response": {"id": generation_id, "model": MODEL},
        "feature": FEATURES[call % 3],
    }
    with path.open("a") as log:
        log.write(json.dumps(line) + "\n")
