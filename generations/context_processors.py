from django.conf import settings
from django.http import HttpRequest

from generations.ingest.selectors import worker_auth_alert


def site(request: HttpRequest) -> dict:
    return {
        "chartjs_url": settings.CHARTJS_URL,
        "chartjs_sri": settings.CHARTJS_SRI,
        "fastrouter_configured": bool(settings.FASTROUTER_API_KEY),
    }


def worker_status(request: HttpRequest) -> dict:
    # A callable: the query runs only when a page renders the alert (signed-in users).
    return {"worker_auth_alert": worker_auth_alert}
