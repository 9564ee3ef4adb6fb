"""GET /metrics for Prometheus: a read token or an allowed address, never a login session."""

import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from generations.client_address import client_ip
from monitoring.metrics import metrics_text
from monitoring.tokens import read_token_of


def _allowed_address(request: HttpRequest) -> bool:
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_ADDRESSES)


@login_not_required  # scrapers have no session: a read token or an allowed address instead
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed_address(request) and read_token_of(request) is None:
        response = HttpResponse(
            "A read token is required: send Authorization: Bearer <token> "
            "(python manage.py create_token NAME --scope read), or scrape from METRICS_ALLOWED_ADDRESSES.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash read"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
