import http.server
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection, connections

from budgets.models import Budget, Channel
from tests.factories import make_generation

USD = 10**12
# The frozen clock of these tests: Wednesday 15 October 2025, 12:00 UTC (14:00 in Berlin).
NOW = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def email_channel(db) -> Channel:
    return Channel.objects.create(name="finance", kind=Channel.EMAIL, recipients=["pay@example.com"])


@pytest.fixture
def make_budget(db) -> Callable[..., Budget]:
    def make(*, channels: list[Channel] = (), created_at: datetime | None = None, **fields) -> Budget:
        values = {"name": "All spend", "amount_pico": 10 * USD, "period": "month", "zone": "Europe/Berlin", **fields}
        budget = Budget.objects.create(**values)
        budget.channels.set(channels)
        if created_at:
            Budget.objects.filter(pk=budget.pk).update(created_at=created_at)
            budget.refresh_from_db()
        return budget

    return make


@pytest.fixture
def spend(db) -> Callable[..., None]:
    """Store generations costing these amounts (pico-units), at the given times."""
    counter = iter(range(1_000_000))

    def add(pico: int, at: datetime = datetime(2025, 10, 14, 9, 0, tzinfo=UTC), **fields) -> None:
        make_generation(
            f"gen-{next(counter)}", cost_pico=pico, credits_used_pico=pico, occurred_at=at, body=False, **fields
        )

    return add


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next status of the server's `statuses` (200 once they run out)."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.server.received.append((self.headers, self.rfile.read(length)))  # case-insensitive get
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hook_server():
    """A local HTTP server in a thread; `statuses` lists its next answers."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def run_concurrently(call: Callable[[], object], times: int = 2) -> list:
    """What `call` returns in `times` threads released at once, each on its own database connection
    (PostgreSQL only: SQLite serialises writers, so nothing would be concurrent)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…): concurrent writers on separate connections")
    start = threading.Barrier(times)
    results: list = []

    def run() -> None:
        try:
            start.wait()
            results.append(call())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
