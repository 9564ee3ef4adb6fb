import pytest
import responses


@pytest.fixture(autouse=True)
def http_mock():
    # Any HTTP call a test did not register fails with ConnectionError.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
