import threading

import pytest

from fastrouter_simulator.server import SimulatorConfig, make_server


@pytest.fixture
def simulator(http_mock, settings):
    """The simulator serving on a free port, and the settings pointing the real client at it."""
    server = make_server(SimulatorConfig(api_key="sim-test-key"), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    http_mock.add_passthru(base_url)
    settings.FASTROUTER_BASE_URL = base_url
    settings.FASTROUTER_API_KEY = "sim-test-key"
    yield server
    server.shutdown()
    server.server_close()
