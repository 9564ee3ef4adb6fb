import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

application = get_wsgi_application()
# Everything loaded at start-up (Django, the apps, every view through the URLconf, which Django
# would import on the first request) lives as long as the process. Moved out of the collector's
# generations, it is no longer walked by each full collection during a request (about 55 ms of a
# 30-day hourly dashboard page).
import_module(settings.ROOT_URLCONF)
gc.freeze()
