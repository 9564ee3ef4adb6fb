from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static

from generations.ingest.selectors import worker_auth_alert

# Where bin/fetch-chartjs places the pinned Chart.js (the CDN's file, checked against its hash).
CHARTJS_LOCAL_COPY = "vendor/chart.js/chart.umd.min.js"


def chartjs_fallback_url() -> str:
    """This server's copy of the pinned Chart.js, tried when CHARTJS_URL fails to load; "" when
    CHARTJS_URL is that copy already or it was never placed (the manifest storage of production
    refuses a file it has not collected)."""
    try:
        local = static(CHARTJS_LOCAL_COPY)
    except ValueError:
        return ""
    return "" if local == settings.CHARTJS_URL else local


def site(request: HttpRequest) -> dict:
    return {
        "chartjs_url": settings.CHARTJS_URL,
        "chartjs_sri": settings.CHARTJS_SRI,
        # A callable: only the dashboard renders it. The copy is byte-for-byte the pinned file.
        "chartjs_fallback_url": chartjs_fallback_url,
        "chartjs_fallback_sri": settings.CHARTJS_DEFAULT_SRI,
        "fastrouter_configured": bool(settings.FASTROUTER_API_KEY),
    }


def worker_status(request: HttpRequest) -> dict:
    # A callable: the query runs only when a page renders the alert (signed-in users).
    return {"worker_auth_alert": worker_auth_alert}
