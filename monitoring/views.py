"""GET /metrics for Prometheus: a read token or an allowed address, never a login session."""

import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from generations.client_address import client_ip
from monitoring.metrics import metrics_text
from monitoring.rate_limit import read_rate_limit_take, too_many_requests
from monitoring.tokens import INSUFFICIENT_SCOPE, is_ingest_token, read_token_of


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
    if not _allowed_address(request):
        token = read_token_of(request)
        if token is None:
            return _token_required(wrong_scope=is_ingest_token(request))
        # An allowed address is the operator's own scraper; a token may be anyone's script.
        retry_after = read_rate_limit_take(token_id=token.pk)
        if retry_after is not None:
            return too_many_requests(retry_after=retry_after)
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


def _token_required(*, wrong_scope: bool) -> HttpResponse:
    if wrong_scope:
        response = HttpResponse(INSUFFICIENT_SCOPE + "\n", status=403, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash read", error="insufficient_scope"'
        return response
    response = HttpResponse(
        "A read token is required: send Authorization: Bearer <token> "
        "(python manage.py create_token NAME --scope read), or scrape from METRICS_ALLOWED_ADDRESSES.\n",
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash read"'
    return response
