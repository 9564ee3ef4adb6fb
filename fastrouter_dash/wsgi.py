import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

application = get_wsgi_application()
