"""Benchmark: time and memory of an Import upload, through the real WSGI handler.

    python benchmarks/import_memory.py                 # a 50 MB .txt of short ids (over IMPORT_MAX_IDS)
    python benchmarks/import_memory.py --ids 100000    # exactly that many ids (a preview within the limit)
    python benchmarks/import_memory.py --format jsonl  # the same ids as JSON Lines (also csv, json)
    python benchmarks/import_memory.py --ids 100000 --long-ids --confirm   # then confirm the preview

Builds the file and the multipart request body on disk in a throw-away directory (SQLite there
too), logs a user in, and POSTs the body to /import/ through Django's WSGIHandler reading it from
the file, as gunicorn would. Prints the status, the page's message, the time taken and the
process's memory: resident size before and after (psutil) and the peak growth (ru_maxrss), so
the figures belong to the request alone. One request per run: run it again for another case.
"""

import argparse
import html
import io
import os
import re
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BOUNDARY = "----import-memory-benchmark"


def write_ids(path: Path, *, fmt: str, megabytes: float, count: int | None, long_ids: bool) -> int:
    """Unique ids, short (gen-0000001) or as long as FastRouter's (chatcmpl-fr-00000000000001a2), until
    the file holds `count` of them or `megabytes`."""
    limit = int(megabytes * 1024 * 1024)
    written = 0
    with path.open("w", newline="\n") as out:
        if fmt == "csv":
            out.write("generation_id\n")
        if fmt == "json":
            out.write("[")
        n = 0
        while (count is None and out.tell() < limit) or (count is not None and n < count):
            n += 1
            generation_id = f"chatcmpl-fr-{n:016x}" if long_ids else f"gen-{n:07d}"
            if fmt == "json":
                out.write(("," if n > 1 else "") + f'"{generation_id}"')
            elif fmt == "jsonl":
                out.write(f'{{"id": "{generation_id}"}}\n')
            else:
                out.write(generation_id + "\n")
        if fmt == "json":
            out.write("]")
        written = n
    return written


def write_body(body: Path, upload: Path, csrf: str) -> None:
    """multipart/form-data, as a browser sends the Import form with a file chosen."""
    with body.open("wb") as out:
        for name, value in (("csrfmiddlewaretoken", csrf), ("text", ""), ("column", ""), ("key", ""), ("label", "")):
            out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{upload.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        with upload.open("rb") as source:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50, help="size of the file of ids (without --ids)")
    parser.add_argument("--ids", type=int, default=None, help="exactly this many ids instead")
    parser.add_argument("--format", choices=("txt", "csv", "json", "jsonl"), default="txt")
    parser.add_argument("--long-ids", action="store_true", help="28-character ids, as FastRouter's")
    parser.add_argument("--confirm", action="store_true", help="then post the preview's confirm form")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="import-memory-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.update(DATA_DIR=str(workdir), SECURE_HTTPS="false", LOG_LEVEL="WARNING")
    os.environ.pop("DATABASE_URL", None)
    os.environ["IMPORT_MAX_UPLOAD_BYTES"] = str(max(int(args.megabytes * 1024 * 1024) * 2, 50 * 1024 * 1024))
    import django

    django.setup()
    import psutil
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.test import Client

    # Plain static storage: a throw-away run has no collectstatic manifest.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password=secrets.token_urlsafe(12))
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked token for the cookie and the form

    upload = workdir / f"ids.{args.format}"
    count = write_ids(upload, fmt=args.format, megabytes=args.megabytes, count=args.ids, long_ids=args.long_ids)
    body = workdir / "body.multipart"
    write_body(body, upload, csrf)

    handler = WSGIHandler()
    base_environ = {
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
    }
    status: list[str] = []

    def start_response(code: str, headers: list, exc_info=None) -> None:
        status.append(code)

    def request(method: str, stream, length: int, content_type: str = "") -> bytes:
        environ = {
            **base_environ,
            "REQUEST_METHOD": method,
            "PATH_INFO": "/import/",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(length),
            "wsgi.input": stream,
        }
        response = handler(environ, start_response)
        content = b"".join(response)
        response.close()
        return content

    with open(os.devnull, "rb") as empty:
        request("GET", empty, 0)  # loads the templates and code once, outside the measurement
    process = psutil.Process()
    mb = 1024 * 1024

    def measured(label: str, send) -> str:
        rss_before = process.memory_info().rss
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.perf_counter()
        text = send().decode(errors="replace")
        elapsed = time.perf_counter() - started
        rss_after = process.memory_info().rss
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before) / mb
        error = re.search(r'<div class="error" role="alert">(.*?)</div>', text, re.S)
        preview = re.search(r"Queue [\d,]+ new ids?", text)
        said = error.group(1).strip() if error else preview.group() if preview else "?"
        print(f"{label}: status {status[-1]}; page says: {said}")
        print(f"  time: {elapsed:.2f} s")
        print(f"  RSS before {rss_before / mb:.0f} MB, after {rss_after / mb:.0f} MB; peak growth {growth:.0f} MB")
        return text

    size = upload.stat().st_size / mb
    print(f"file: {size:.1f} MB, {count:,} ids ({args.format}); IMPORT_MAX_IDS {settings.IMPORT_MAX_IDS:,}")
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    with body.open("rb") as stream:
        page = measured("preview", lambda: request("POST", stream, body.stat().st_size, content_type))
    if args.confirm:
        form = re.search(r'<form method="post" action="/import/" class="actions">(.*?)</form>', page, re.S)
        fields = [(n, html.unescape(v)) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))]
        encoded = urlencode([*fields, ("confirm", "1")]).encode()
        form_type = "application/x-www-form-urlencoded"
        measured("confirm", lambda: request("POST", io.BytesIO(encoded), len(encoded), form_type))


if __name__ == "__main__":
    main()
