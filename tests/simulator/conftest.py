import pytest


@pytest.fixture
def simulator(use_simulator):
    """The simulator serving on a free port, and the settings pointing the real client at it."""
    return use_simulator()
