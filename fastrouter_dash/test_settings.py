"""The test suite's settings: the real settings, with the few environment values tests need.

Tests run like production (DEBUG off) but over plain HTTP, with a throwaway secret key. A value
already in the environment wins, so CI can still run the suite against PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("SECURE_HTTPS", "false")

from fastrouter_dash.settings import *  # noqa: F403

# The live test server serves MEDIA_URL from disk; Django's default "" would make it treat every
# page path as a file name (and fail with "File name too long" on a 256-character generation id).
MEDIA_URL = "/test-media/"
