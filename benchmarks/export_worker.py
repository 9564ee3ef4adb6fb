"""Stream /generations/export.csv through the test Client and print its line count (run by run.py,
which watches this process's peak RSS). Prints -<status> when the path answers something else."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
os.environ["ALLOWED_HOSTS"] = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost") + ",testserver"
# The test Client speaks plain HTTP: without this every page is a 301 to https.
os.environ.setdefault("SECURE_HTTPS", "false")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

client = Client()
client.force_login(get_user_model().objects.get(username="benchmark"))
# Every stored row (the default range is the last 7 days).
response = client.get("/generations/export.csv?range=custom&start=2000-01-01&end=2099-12-31")
if response.status_code != 200 or not response.streaming:
    print(f"-{response.status_code}")
else:
    print(sum(chunk.count(b"\n") for chunk in response.streaming_content))
