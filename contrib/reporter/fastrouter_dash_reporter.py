"""Report FastRouter generation ids to FastRouter Dash from a Python application.

One file, standard library only (Python 3.9+): copy it into your project.

    reporter = Reporter("https://dash.example.com", token=os.environ["FASTROUTER_DASH_TOKEN"], spool_dir="/var/tmp/fr")
    reporter.report(response.id, feature="search", user="42")

`report()` never blocks and never raises: it puts the id on an in-memory queue. A background thread
writes what is queued to the spool (with `spool_dir`: append-only JSON lines, fsync'd; without it: memory)
and sends it from there to the dashboard's `POST /api/ingest`, up to `batch_size` ids at least every
`flush_interval` seconds. An id stays in the spool until the dashboard has taken it: when the dashboard is
down, slow or busy (connection error, timeout, 5xx, 429) it is sent again later, with exponential backoff,
and after a crash or restart by the next Reporter on the same `spool_dir`. What the dashboard refuses for
good (a revoked token, a malformed request: a 4xx other than 429) is dropped, counted in `stats` and logged
with the dashboard's reason, as are ids over the memory or spool limits. The token is never logged.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import http.client
import itertools
import json
import logging
import os
import queue
import random
import re
import secrets
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from email.utils import parsedate_to_datetime

try:
    import fcntl
except ImportError:  # Windows has no flock: without it a spool file cannot be shared safely, so none is used
    fcntl = None

__all__ = ["Reporter"]
__version__ = "1.0"

logger = logging.getLogger("fastrouter_dash_reporter")

# The dashboard's limits (generations/ingest/tags.py): a tag outside them is left off; the id is still reported.
MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 64
MAX_TAG_VALUE_LENGTH = 200
MAX_ID_LENGTH = 256
_TAG_KEY = re.compile(r"[A-Za-z0-9_.:-]+")

# Why ids were dropped, the keys of stats["dropped"].
DROP_REASONS = {
    "queue_full": "report() found max_queued ids waiting in memory",
    "spool_full": "the spool held max_spool_bytes (without a spool_dir: max_queued ids waiting for a retry)",
    "rejected": "the dashboard refused the request for good (a bad token, a 4xx other than 429, a redirect)",
    "invalid": "the dashboard found the id invalid",
    "bad_id": "report() was given something other than an id (not text, empty or over 256 characters)",
    "closed": "report() was called after close()",
    "unsent_at_exit": "without a spool_dir, ids still unsent when close()'s deadline passed",
    "unreadable_spool": "lines of a spool file that could not be read (cut short by a crash)",
    "error": "an unexpected error inside the reporter, or a spool write that failed (logged)",
}

_STOP = object()  # wakes the sender thread when closing
# What one delivery attempt did with its ids: taken or dropped for good (either way off the spool), to be sent
# again after a backoff, or to be sent again at once in smaller requests (the dashboard answered 413).
_DONE, _RETRY, _SMALLER = "done", "retry", "smaller"


class Reporter:
    """Sends generation ids to FastRouter Dash in the background. Thread-safe; one per process.

    Create it after the process forks (for example in gunicorn's ``post_fork`` or on first use): a forked
    child inherits no running thread.
    """

    def __init__(
        self,
        url: str,
        token: str,
        spool_dir: str | os.PathLike | None = None,
        *,
        batch_size: int = 1000,
        flush_interval: float = 2.0,
        max_queued: int = 100_000,
        max_spool_bytes: int = 64 * 1024 * 1024,
        timeout: float = 10.0,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        exit_timeout: float = 5.0,
    ) -> None:
        """``url``: the dashboard's address (``/api/ingest`` is added unless it ends with it); ``token``: an
        ingest token (``python manage.py create_token NAME``). The rest are the limits: ids per request, seconds
        between sends, ids waiting in memory, bytes of spool file, seconds per request, the backoff after a
        failed send (``backoff_base`` doubling up to ``backoff_max`` seconds), and how long the flush at exit
        may take."""
        if not str(url).startswith(("http://", "https://")):
            raise ValueError("url must be the dashboard's http:// or https:// address")
        if min(batch_size, max_queued, max_spool_bytes) < 1 or min(flush_interval, timeout, backoff_base) <= 0:
            raise ValueError(
                "batch_size, max_queued, max_spool_bytes, flush_interval, timeout and backoff_base must be positive"
            )
        url = str(url).rstrip("/")
        self.endpoint = url if url.endswith("/api/ingest") else url + "/api/ingest"
        self._token = token
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._timeout = timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._exit_timeout = exit_timeout
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self._lock = threading.Lock()
        self._counts = {"reported": 0, "sent": 0, "failed_attempts": 0, "tags_dropped": 0}
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._closed = False
        self._closing = threading.Event()
        self._stop_at = 0.0
        self._failures = 0
        self._retry_at = 0.0
        self._warned_tags = False
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._spool: _FileSpool | _MemorySpool = _MemorySpool(max_queued)
        if spool_dir is not None and fcntl is None:
            logger.warning("No spool file on this platform (no flock): ids waiting for a retry are kept in memory.")
        elif spool_dir is not None:
            try:
                self._spool = _FileSpool(os.fspath(spool_dir), max_spool_bytes)
            except OSError as error:  # a read-only or missing disk must not stop the application
                logger.error("Cannot spool to %s (%s): ids waiting for a retry are kept in memory.", spool_dir, error)
        self._thread = threading.Thread(target=self._run, name="fastrouter-dash-reporter", daemon=True)
        self._thread.start()
        atexit.register(self._close_at_exit)

    def __repr__(self) -> str:  # never the token
        return f"<Reporter {self.endpoint}>"

    # ------------------------------------------------------------------ the host application's side

    def report(self, generation_id: str, **tags: object) -> bool:
        """Queue ``generation_id`` to be sent, with ``tags`` (``feature="search"``; values become text, None
        leaves a tag off). True when queued; never blocks, never raises."""
        try:
            cleaned = generation_id.strip() if isinstance(generation_id, str) else ""
            if not cleaned or len(cleaned) > MAX_ID_LENGTH:
                return self._drop("bad_id", 1)
            item: dict = {"id": cleaned}
            if tags:
                item_tags = self._clean_tags(tags)
                if item_tags:
                    item["tags"] = item_tags
            with self._lock:  # so that close() never misses an id queued while it starts
                if self._closed:
                    self._dropped["closed"] += 1
                    return False
                self._queue.put_nowait(item)
                self._counts["reported"] += 1
            return True
        except queue.Full:
            return self._drop("queue_full", 1)
        except Exception:
            logger.exception("The FastRouter Dash reporter could not queue an id.")
            return self._drop("error", 1)

    def close(self, timeout: float = 5.0) -> bool:
        """Send what is queued, for at most ``timeout`` seconds, and stop. What is left goes to the spool file
        for the next Reporter on the same spool_dir. True when everything reported was sent (or dropped)."""
        with self._lock:
            first = not self._closed
            self._closed = True
        if first:
            self._stop_at = time.monotonic() + timeout
            self._closing.set()
            with contextlib.suppress(queue.Full):  # a full queue wakes the thread anyway
                self._queue.put_nowait(_STOP)
            atexit.unregister(self._close_at_exit)
        self._thread.join(max(0.0, self._stop_at - time.monotonic()))
        return not self._thread.is_alive() and self._spool.pending_count() == 0

    @property
    def stats(self) -> dict:
        """Counts since start: ``reported``, ``sent`` (taken by the dashboard), ``failed_attempts`` (sends to try
        again), ``tags_dropped``, ``dropped`` by reason (see DROP_REASONS), and ids now ``queued`` in memory
        and ``spooled`` (waiting in the spool)."""
        with self._lock:
            dropped = dict(self._dropped)
            counts = dict(self._counts)
        dropped["unreadable_spool"] += self._spool.unreadable
        return {**counts, "dropped": dropped, "queued": self._queue.qsize(), "spooled": self._spool.pending_count()}

    @property
    def dropped(self) -> int:
        """Ids dropped so far, for every reason."""
        return sum(self.stats["dropped"].values())

    def _close_at_exit(self) -> None:
        self.close(self._exit_timeout)

    def _drop(self, reason: str, count: int) -> bool:
        with self._lock:
            self._dropped[reason] += count
        return False

    def _count(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._counts[name] += count

    def _clean_tags(self, tags: dict) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for key, value in tags.items():
            if value is None:
                continue
            text = value if isinstance(value, str) else str(value)
            if (
                len(cleaned) < MAX_TAGS
                and _TAG_KEY.fullmatch(key)
                and len(key) <= MAX_TAG_KEY_LENGTH
                and 0 < len(text) <= MAX_TAG_VALUE_LENGTH
                and text.isprintable()
            ):
                cleaned[key] = text
                continue
            self._count("tags_dropped")
            if not self._warned_tags:
                self._warned_tags = True
                logger.warning(
                    "Tag %r was left off (once per reporter): at most %d tags per id, names of 1 to %d letters, "
                    "digits or _ . : -, values of 1 to %d printable characters.",
                    key[:MAX_TAG_KEY_LENGTH], MAX_TAGS, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH,
                )  # fmt: skip
        return cleaned

    # ------------------------------------------------------------------ the sender thread

    def _run(self) -> None:
        try:
            taken, dropped = self._spool.adopt_orphans()
            self._drop("spool_full", dropped)
            if taken:
                logger.info("Re-sending %d ids left in the spool by an earlier reporter.", taken)
        except Exception:
            logger.exception("The FastRouter Dash reporter could not read the spool files of earlier reporters.")
        while True:
            try:
                if self._closing.is_set():
                    break
                pending = self._spool.pending_count()
                wait = max(0.0, self._retry_at - time.monotonic()) if pending else None
                self._spool_items(self._take(wait))
                if self._spool.pending_count() and time.monotonic() >= self._retry_at:
                    self._drain(deadline=None)
            except Exception:
                logger.exception("The FastRouter Dash reporter hit an unexpected error; it keeps going.")
                self._closing.wait(min(1.0, self._flush_interval))
        try:
            self._finish()
        except Exception:
            logger.exception("The FastRouter Dash reporter could not finish its last sends.")

    def _take(self, first_wait: float | None) -> list[dict]:
        """Up to batch_size queued items: the first waited for up to ``first_wait`` seconds (None: until one
        comes), the others up to flush_interval after it (none while closing)."""
        items: list[dict] = []
        try:
            item = (
                self._queue.get(timeout=first_wait)
                if first_wait is None or first_wait > 0
                else self._queue.get_nowait()
            )
        except queue.Empty:
            return items
        flush_at = time.monotonic() + self._flush_interval
        while True:
            if item is not _STOP:
                items.append(item)
            if len(items) >= self._batch_size:
                return items
            remaining = 0.0 if self._closing.is_set() else flush_at - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return items

    def _spool_items(self, items: list[dict]) -> None:
        if not items:
            return
        try:
            accepted = self._spool.append(items)
        except OSError:  # a full or failing disk
            logger.exception(
                "The FastRouter Dash reporter could not write %d ids to its spool; they are dropped.", len(items)
            )
            self._drop("error", len(items))
            return
        self._drop("spool_full", len(items) - accepted)

    def _drain(self, deadline: float | None) -> None:
        """Send the spool, oldest first, until it is empty, a send fails, or ``deadline`` passes."""
        while True:
            items, position = self._spool.peek(self._batch_size)
            if not items:
                self._spool.consume(position, 0)  # only unreadable lines, if any
                return
            timeout = self._timeout if deadline is None else min(self._timeout, deadline - time.monotonic())
            if timeout <= 0:
                return
            outcome = self._deliver(items, timeout)
            if outcome == _RETRY:
                return
            if outcome == _DONE:
                self._spool.consume(position, len(items))

    def _deliver(self, items: list[dict], timeout: float) -> str:
        try:
            status, body, retry_after = self._post(items, timeout)
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, DNS…
            self._failed(f"the dashboard could not be reached ({type(error).__name__}: {error})", None)
            return _RETRY
        if 200 <= status < 300:
            answer = _json_object(body)
            if answer is None or "queued" not in answer:
                self._reject(
                    items, f"HTTP {status} without the ingest API's answer (is {self.endpoint} FastRouter Dash?)"
                )
                return _DONE
            invalid = answer.get("invalid") or []
            if invalid:
                self._drop("invalid", len(invalid))
                logger.warning("The dashboard refused %d ids as invalid, e.g. %s.", len(invalid), invalid[0])
            self._count("sent", len(items) - len(invalid))
            self._recovered()
            return _DONE
        if status == 413 and len(items) > 1:
            self._batch_size = max(1, len(items) // 2)
            logger.info("The dashboard takes fewer ids per request; sending %d at a time.", self._batch_size)
            return _SMALLER
        if status in (408, 429) or status >= 500:
            self._failed(f"HTTP {status} {_error_text(body)}".rstrip(), retry_after)
            return _RETRY
        self._reject(items, f"HTTP {status} {_error_text(body)}".rstrip())
        return _DONE

    def _post(self, items: list[dict], timeout: float) -> tuple[int, bytes, float | None]:
        body = json.dumps({"items": items, "source": "reporter"}, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 (the endpoint's scheme is checked to be http(s))
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
                "User-Agent": f"fastrouter-dash-reporter/{__version__}",
            },
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.read(1_000_000), None
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read(65_536), _retry_after(error.headers.get("Retry-After"))

    def _failed(self, reason: str, retry_after: float | None) -> None:
        """A send to try again: the next waits ``retry_after`` (the dashboard's) or a growing backoff."""
        self._failures += 1
        self._count("failed_attempts")
        backoff = self._backoff_base * 2 ** min(self._failures - 1, 32) * random.uniform(0.5, 1.0)
        delay = min(self._backoff_max, retry_after if retry_after is not None else backoff)
        self._retry_at = time.monotonic() + delay
        if self._failures == 1:
            logger.warning(
                "Could not send ids to FastRouter Dash: %s. They stay in the spool and are sent again.", reason
            )
        else:
            logger.debug("Send %d to FastRouter Dash failed: %s; next in %.1f s.", self._failures, reason, delay)

    def _recovered(self) -> None:
        if self._failures:
            logger.info("FastRouter Dash takes ids again after %d failed sends.", self._failures)
        self._failures = 0
        self._retry_at = 0.0

    def _reject(self, items: list[dict], reason: str) -> None:
        self._drop("rejected", len(items))
        logger.error("FastRouter Dash refused %d ids, which are dropped: %s.", len(items), reason)
        self._recovered()  # the dashboard answers: no reason to back off

    def _finish(self) -> None:
        """Closing: everything in memory goes to the spool, which is sent until the deadline (not tried when the
        dashboard is known to be down and the spool file keeps the ids for the next Reporter)."""
        while batch := self._take(0):
            self._spool_items(batch)
        if self._spool.pending_count() and (self._failures == 0 or isinstance(self._spool, _MemorySpool)):
            self._drain(deadline=self._stop_at)
        left = self._spool.close()
        if left and isinstance(self._spool, _MemorySpool):
            self._drop("unsent_at_exit", left)
        elif left:
            logger.info("%d ids stay in the spool for the next reporter on this spool_dir.", left)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is refused, not followed: urllib would turn the POST into a GET and drop the body, and the
    token would go wherever the redirect points. The error names the status, to fix the url."""

    def redirect_request(self, *args, **kwargs):
        return None


class _FileSpool:
    """Ids waiting to be sent, in ``spool_dir``: one set of files per Reporter, so processes can share the directory.

    ``<name>.lock`` is held with an exclusive flock while its Reporter lives; ``<name>.jsonl`` holds the ids, one
    JSON object a line, appended and fsync'd; ``<name>.sent`` the byte offset of the first line not yet sent. A
    file whose lock is free belongs to a Reporter that is gone (closed or crashed): the next Reporter takes its
    unsent lines over. A crash between a send and the offset update means those ids are sent twice, never lost;
    the dashboard counts an id sent twice as already queued.
    """

    def __init__(self, directory: str, max_bytes: int) -> None:
        os.makedirs(directory, exist_ok=True)
        self._directory = directory
        self._max_bytes = max_bytes
        base = os.path.join(directory, f"spool-{os.getpid()}-{secrets.token_hex(4)}")
        self._lock_path, self._data_path, self._sent_path = base + ".lock", base + ".jsonl", base + ".sent"
        self._lock_file = open(self._lock_path, "wb")  # noqa: SIM115 (held open: the lock lives as long as the file)
        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._data = open(self._data_path, "ab", buffering=0)  # noqa: SIM115 (appended to until close())
        self._size = 0
        self._sent = 0
        self._pending = 0
        self.unreadable = 0
        self._mutex = threading.Lock()

    def adopt_orphans(self) -> tuple[int, int]:
        """Take over the unsent lines of the spool files of Reporters that are gone: (ids taken, ids dropped)."""
        taken = dropped = 0
        for lock_path in sorted(glob.glob(os.path.join(glob.escape(self._directory), "spool-*.lock"))):
            if lock_path == self._lock_path:
                continue
            try:
                lock_file = open(lock_path, "rb")  # noqa: SIM115 (closed below, after its files are removed)
            except FileNotFoundError:
                continue  # another Reporter took it over meanwhile
            with lock_file:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its Reporter is alive
                base = lock_path[: -len(".lock")]
                for chunk in self._read_unsent(base + ".jsonl", _read_offset(base + ".sent")):
                    accepted = self.append(chunk)
                    taken += accepted
                    dropped += len(chunk) - accepted
                # Data first, lock last: whoever opens the lock file after this finds nothing left to take.
                for path in (base + ".jsonl", base + ".sent", lock_path):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
        return taken, dropped

    def _read_unsent(self, path: str, offset: int, chunk: int = 10_000):
        try:
            source = open(path, "rb")  # noqa: SIM115 (a generator's file: closed by the with below)
        except FileNotFoundError:
            return
        with source:
            if offset > os.fstat(source.fileno()).st_size:
                offset = 0  # emptied after its last offset was written: every line in it is unsent
            source.seek(offset)
            while items := list(itertools.islice(self._complete_lines(source), chunk)):
                yield items

    def _complete_lines(self, source):
        for line in source:
            if not line.endswith(b"\n"):
                self.unreadable += 1  # cut short by a crash while it was written
                return
            item = _spooled_item(line)
            if item is None:
                self.unreadable += 1
            else:
                yield item

    def append(self, items: list[dict]) -> int:
        """Write ``items`` to disk (fsync'd) as long as they fit in max_bytes; returns how many fitted."""
        lines = [json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for item in items]
        with self._mutex:
            if self._sent and self._size + sum(map(len, lines)) > self._max_bytes:
                self._compact()
            room = self._max_bytes - self._size
            fitting = []
            for line in lines:
                if len(line) > room:
                    break
                fitting.append(line)
                room -= len(line)
            if fitting:
                data = b"".join(fitting)
                try:
                    if self._data.write(data) != len(data):  # unbuffered: a full disk writes part of it
                        raise OSError(f"only part of {len(data)} bytes could be written")
                    os.fsync(self._data.fileno())
                except OSError:
                    with contextlib.suppress(OSError):  # no half line for the next append to run into
                        self._data.truncate(self._size)
                    raise
                self._size += len(data)
                self._pending += len(fitting)
            return len(fitting)

    def _compact(self) -> None:
        """Drop the sent lines from the file (called with the mutex held)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._sent_path)  # first: a crash before the replace re-sends lines, never skips any
        temporary = self._data_path + ".tmp"
        with open(self._data_path, "rb") as source, open(temporary, "wb") as target:
            source.seek(self._sent)
            shutil.copyfileobj(source, target)
            target.flush()
            os.fsync(target.fileno())
        self._data.close()
        os.replace(temporary, self._data_path)
        self._data = open(self._data_path, "ab", buffering=0)  # noqa: SIM115
        self._size -= self._sent
        self._sent = 0

    def peek(self, count: int) -> tuple[list[dict], int]:
        """The oldest ``count`` unsent items and the offset just past them (for consume)."""
        with self._mutex, open(self._data_path, "rb") as source:
            source.seek(self._sent)
            items = []
            position = self._sent
            for line in source:
                if not line.endswith(b"\n"):
                    break
                position += len(line)
                item = _spooled_item(line)
                if item is None:
                    self.unreadable += 1
                    continue
                items.append(item)
                if len(items) == count:
                    break
            return items, position

    def consume(self, position: int, count: int) -> None:
        """The items before ``position`` are done with: never send them again."""
        with self._mutex:
            self._sent = position
            self._pending -= count
            if self._sent >= self._size:  # all sent: the file starts again, empty
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self._sent_path)
                self._data.truncate(0)
                self._size = self._sent = self._pending = 0
            else:
                temporary = self._sent_path + ".tmp"
                with open(temporary, "w") as target:
                    target.write(str(self._sent))
                os.replace(temporary, self._sent_path)

    def pending_count(self) -> int:
        return self._pending

    def close(self) -> int:
        """Release the files (removed when nothing is left); returns the ids left for the next Reporter."""
        with self._mutex:
            self._data.close()
            if not self._pending:
                for path in (self._data_path, self._sent_path, self._lock_path):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
            self._lock_file.close()  # releases the lock
            return self._pending


class _MemorySpool:
    """Without a spool_dir: ids waiting for a retry, in memory, up to max_queued."""

    unreadable = 0

    def __init__(self, max_items: int) -> None:
        self._items: deque = deque()
        self._max_items = max_items
        self._mutex = threading.Lock()

    def adopt_orphans(self) -> tuple[int, int]:
        return 0, 0

    def append(self, items: list[dict]) -> int:
        with self._mutex:
            fitting = items[: max(0, self._max_items - len(self._items))]
            self._items.extend(fitting)
            return len(fitting)

    def peek(self, count: int) -> tuple[list[dict], int]:
        with self._mutex:
            items = list(itertools.islice(self._items, count))
            return items, len(items)

    def consume(self, position: int, count: int) -> None:
        with self._mutex:
            for _ in range(count):
                self._items.popleft()

    def pending_count(self) -> int:
        return len(self._items)

    def close(self) -> int:
        return len(self._items)


def _spooled_item(line: bytes) -> dict | None:
    try:
        item = json.loads(line)
    except ValueError:
        return None
    return item if isinstance(item, dict) and isinstance(item.get("id"), str) else None


def _read_offset(path: str) -> int:
    try:
        with open(path) as source:
            return max(0, int(source.read().strip() or 0))
    except (OSError, ValueError):
        return 0  # unreadable: send everything again rather than skip anything


def _json_object(body: bytes) -> dict | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _error_text(body: bytes) -> str:
    """The dashboard's reason (its JSON "error"), or the start of whatever answered."""
    answer = _json_object(body)
    if answer is not None and isinstance(answer.get("error"), str):
        return answer["error"][:300]
    return body[:200].decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
