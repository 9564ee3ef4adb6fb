import pytest
from django.test import RequestFactory

from generations.client_address import client_ip


def _request(forwarded_for: str | None, remote: str = "10.0.0.2"):
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the header is the client's to forge
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # what the client wrote is ignored
        (1, "not-an-address, 203.0.113.9", "203.0.113.9"),
        (1, "192.168.1.20", "192.168.1.20"),  # an office client behind the proxy keeps its own address
        (2, "1.2.3.4, 203.0.113.9, 198.51.100.1", "203.0.113.9"),
        (1, None, "10.0.0.2"),  # straight to the app: the connection's address
        (2, "203.0.113.9", "10.0.0.2"),  # fewer hops than trusted proxies: not believed
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(_request(forwarded_for)) == expected


def test_client_ip_uses_the_connection_address_of_a_public_proxy_only_without_the_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("10.1.2.3", remote="198.51.100.1")) == "10.1.2.3"
    assert client_ip(_request(None, remote="198.51.100.1")) == "198.51.100.1"
