"""The reporter is a file applications copy, not a package of the project: load it from its path."""

import contextlib
import importlib.util
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

REPORTER_PATH = settings.BASE_DIR / "contrib" / "reporter" / "fastrouter_dash_reporter.py"


def _load_reporter_module():
    spec = importlib.util.spec_from_file_location("fastrouter_dash_reporter", REPORTER_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reporter_module = _load_reporter_module()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def free_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def reporters():
    """Builds Reporters with test-sized intervals and closes them all at the end of the test."""
    made = []

    def make(url: str, token: str = "frdi_test-token-never-logged", **options):  # noqa: S107
        options = {"flush_interval": 0.02, "backoff_base": 0.02, "backoff_max": 0.1, "timeout": 5.0, **options}
        made.append(reporter_module.Reporter(url, token, **options))
        return made[-1]

    yield make
    for reporter in made:
        reporter.close(timeout=1)


class FakeDashboard:
    """A stdlib HTTP server standing in for the dashboard in unit tests: it records every request and
    answers from ``answers`` (status, JSON body, headers) in turn, then 202 with every id queued."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, object, dict]] = []
        self.hold = threading.Event()  # cleared: requests wait until it is set again
        self.hold.set()
        self.arrived = threading.Event()
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                dashboard.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                dashboard.arrived.set()
                dashboard.hold.wait(10)
                status, answer, headers = (
                    dashboard.answers.pop(0)
                    if dashboard.answers
                    else (202, {"queued": len(body["items"]), "invalid": []}, {})
                )
                data = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def ids(self) -> list[str]:
        return [item["id"] for request in self.requests for item in request["body"]["items"]]

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dashboard():
    fake = FakeDashboard()
    yield fake
    fake.close()


@contextlib.contextmanager
def forwarding(port: int, target_port: int):
    """Listen on ``port`` and pass every connection through to ``target_port``: the dashboard coming back."""
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.05)
    stop = threading.Event()
    sockets: list[socket.socket] = [listener]

    def pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            sockets.extend((client, upstream))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for each in sockets:
            each.close()
