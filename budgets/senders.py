"""Outgoing webhook HTTP (generic webhooks and Slack): the one module of budgets that sends any.

It uses the standard library's urllib rather than `requests`, which stays the FastRouter client's
alone (generations/fastrouter/client.py). Every send has a timeout and follows no redirect. A
failure is a `SendFailed` whose message says what happened (a status, a timeout, a refused
connection) and never holds the URL, which may carry a token, or the secret.

Generic webhooks are signed: `X-FastRouter-Dash-Timestamp` is the send time in Unix seconds and
`X-FastRouter-Dash-Signature` is `sha256=` + the hex HMAC-SHA256, keyed with the channel's secret,
of the timestamp, a full stop and the exact body bytes (`f"{timestamp}.".encode() + body`): a
receiver recomputes it and rejects old timestamps, so a captured request cannot be replayed later.
"""

import hashlib
import hmac
import socket
import urllib.error
import urllib.request

SIGNATURE_HEADER = "X-FastRouter-Dash-Signature"
TIMESTAMP_HEADER = "X-FastRouter-Dash-Timestamp"
# Answers worth trying again later; any other 4xx will not change by waiting.
RETRIED_STATUSES = frozenset({408, 425, 429})


class SendFailed(Exception):
    """`permanent`: retrying cannot help (a 4xx other than those above, a redirect)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver checks (after refusing a timestamp older than a few minutes)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx reaches the caller as an HTTPError


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes, *, timeout: float, headers: dict[str, str] | None = None) -> None:
    if not url.startswith(("http://", "https://")):
        raise SendFailed("the URL is not an http:// or https:// URL", permanent=True)
    request = urllib.request.Request(  # noqa: S310 (http and https only, checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
        if 300 <= status < 400:
            raise SendFailed(f"HTTP {status}: redirects are not followed", permanent=True) from None
        permanent = 400 <= status < 500 and status not in RETRIED_STATUSES
        raise SendFailed(f"HTTP {status}", permanent=permanent) from None
    except TimeoutError:
        raise SendFailed(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        raise SendFailed(_reason(error.reason)) from None
    except OSError as error:  # a connection reset while reading, and the like
        raise SendFailed(_reason(error)) from None


def _reason(reason: object) -> str:
    """What went wrong, without the text of the error (which may quote the host or URL)."""
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(reason, ConnectionResetError):
        return "connection reset"
    return f"connection failed ({type(reason).__name__})"
