"""The client's address for django-axes's login lockouts, also behind reverse proxies."""

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str | None:
    """With TRUSTED_PROXY_COUNT proxies in front, each appending the address it was reached from to
    X-Forwarded-For, the client is the entry the outermost trusted proxy added; whatever a client
    wrote further left is ignored. Without trusted proxies, or without the header, REMOTE_ADDR."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        # ipware counts the proxies listed after the client: the last trusted one is REMOTE_ADDR.
        address, _routable = get_client_ip(
            request, proxy_count=proxies - 1, request_header_order=["HTTP_X_FORWARDED_FOR"], strict=False
        )
        if address:
            return address
    return request.META.get("REMOTE_ADDR")
