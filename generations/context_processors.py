from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "chartjs_url": settings.CHARTJS_URL,
        "chartjs_sri": settings.CHARTJS_SRI,
        "fastrouter_configured": bool(settings.FASTROUTER_API_KEY),
    }
