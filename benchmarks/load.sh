#!/usr/bin/env bash
# Loopback load test: gunicorn (production settings) over the rows in DATABASE_URL, wrk against
# the dashboard, the generations list and one detail page, logged in. Bounded: DURATION per URL.
#
#   createdb -h 127.0.0.1 -U postgres load_1m
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/load_1m python manage.py migrate
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/load_1m python benchmarks/generate.py 1000000
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/load_1m bash benchmarks/load.sh
#
# Needs wrk (apt-get install -y wrk) and curl. Only ever targets 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
PORT=${PORT:-8950}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-4}
WORKERS=${WORKERS:-3}
BASE="http://127.0.0.1:$PORT"
export DEBUG=false SECURE_HTTPS=false ALLOWED_HOSTS=127.0.0.1
export SECRET_KEY=${SECRET_KEY:-load-test-only-secret-key-0123456789abcdefghijklmnop}
: "${DATABASE_URL:?set DATABASE_URL (see the header)}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

"$PYTHON" manage.py collectstatic --noinput -v0
PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(16))')
"$PYTHON" manage.py shell -v0 -c "
from django.contrib.auth.models import User
user, _ = User.objects.get_or_create(username='loadtest')
user.set_password('$PASSWORD'); user.save()"
DETAIL_ID=$("$PYTHON" manage.py shell -v0 -c "
from generations.models import Generation
print(Generation.objects.order_by('-id').values_list('generation_id', flat=True)[0])")
echo "rows: $("$PYTHON" manage.py shell -v0 -c 'from generations.models import Generation; print(Generation.objects.count())')"

"$PYTHON" -m gunicorn fastrouter_dash.wsgi --bind "127.0.0.1:$PORT" --workers "$WORKERS" --timeout 120 \
  --error-logfile /tmp/load-gunicorn.log &
GUNICORN=$!
trap 'kill "$GUNICORN" 2>/dev/null; wait "$GUNICORN" 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs -o /dev/null "$BASE/accounts/login/" && break; sleep 0.5; done

JAR=$(mktemp)
curl -fs -c "$JAR" -o /dev/null "$BASE/accounts/login/"
CSRF=$(awk '$6 == "csrftoken" {print $7}' "$JAR")
curl -fs -b "$JAR" -c "$JAR" -o /dev/null -d "csrfmiddlewaretoken=$CSRF&username=loadtest&password=$PASSWORD" \
  "$BASE/accounts/login/"
SESSION=$(awk '$6 == "sessionid" {print $7}' "$JAR")
rm -f "$JAR"
[ -n "$SESSION" ] || { echo "login failed" >&2; exit 1; }

for path in /dashboard/ /generations/ "/generations/$DETAIL_ID/"; do
  # Warm-up request (caches, connections), then the timed run.
  curl -fs -o /dev/null -H "Cookie: sessionid=$SESSION" "$BASE$path"
  printf '%s\t' "$path"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 60s --latency -s benchmarks/wrk_status.lua \
    -H "Cookie: sessionid=$SESSION" "$BASE$path" | grep '^RESULT' | cut -d' ' -f2-
done
