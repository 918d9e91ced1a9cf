"""Credentials never reach an output: URIs lose their user:password, text loses bearer tokens,
Authorization headers and `password=`-style values, and any secret the config holds is masked.

Pure functions (no I/O), used for workspace names, registry errors, hook responses before they are
stored in the audit trail or printed, and the CLI's last-resort error line.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "***"
MAX_STRING = 500  # characters kept of any one string in a stored response
MAX_TOTAL = 2000  # characters kept of a whole stored response (as JSON)

_SECRET_NAMES = r"(?:password|passwd|pwd|pass|token|access[_-]?token|refresh[_-]?token|secret|client[_-]?secret" \
                r"|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth|authorization|cookie|set-cookie|session)"
_SECRET_KEY = re.compile(rf"^(?:x-)?{_SECRET_NAMES}$|{_SECRET_NAMES}$", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/\s@\"'<>]+)@")
_BEARER = re.compile(r"\b(Bearer|Basic|Token|Digest)(\s+)[A-Za-z0-9._~+/=\-]{4,}", re.IGNORECASE)
# a config key's path is not a header: "webhooks.deploy.headers.Authorization: environment variable X is not set"
# (its value is masked by value, as every secret the config holds; a bearer token by `_BEARER`)
_KEY_PATH = r"(?<!headers\.)"
_HEADER = re.compile(_KEY_PATH + r"(?P<k>\b(?:proxy-)?authorization|\bx-api-key|\bcookie)(?P<sep>\"?\s*[:=]\s*\"?)"
                     r"(?P<v>(?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s\",}]+)", re.IGNORECASE)
# `password=`, and an environment variable's name ending in a secret's, `DB_PASSWORD=`, `AWS_SECRET_ACCESS_KEY=`,
# `GITHUB_TOKEN=` (a failing hook's `env`: `\b` before the name never matched after an underscore); upper case
# only, so a config key's path (`storage.s3.secret_access_key: environment variable ... is not set`) is not one
_KEYVAL = re.compile(rf"{_KEY_PATH}(?P<k>(?i:\b{_SECRET_NAMES})|(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_"
                     rf"(?i:{_SECRET_NAMES}))(?P<sep>\"?\s*[:=]\s*\"?)(?P<v>[^\s\"'&,;}}]+)")


def secret_key(name: str) -> bool:
    """A field or header name whose value is a credential."""
    return bool(_SECRET_KEY.search(str(name).strip()))


def redact_uri(uri: object) -> str:
    """`http://bob:pw@host/x?token=t` -> `http://***@host/x?token=***`; anything else unchanged."""
    text = "" if uri is None else str(uri)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact_text(text)
    if not parts.scheme or not parts.netloc:
        return redact_text(text)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if secret_key(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _spellings(value: str) -> set[str]:
    """A secret as written, and as a server echoing it back spells it: percent-encoded (a URL's path or query,
    `quote` and `quote_plus`) and JSON-escaped (a quote or a backslash in it)."""
    return {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}


def redact_text(text: object, secrets: Iterable[str] = ()) -> str:
    """Any credential-looking part of free text masked, and every given secret value too."""
    s = "" if text is None else str(text)
    for value in sorted({f for v in secrets if v and len(v) >= 4 for f in _spellings(v)}, key=len, reverse=True):
        s = s.replace(value, MASK)
    s = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", s)
    s = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", s)
    s = _HEADER.sub(lambda m: f"{m.group('k')}{m.group('sep')}{MASK}", s)
    s = _KEYVAL.sub(lambda m: m.group(0) if m.group("v") == MASK else f"{m.group('k')}{m.group('sep')}{MASK}", s)
    return s


def redact_value(value: Any, secrets: Iterable[str] = (), max_string: int = MAX_STRING,
                 max_total: int = MAX_TOTAL) -> Any:
    """A JSON-like value with credentials masked (by key and by content) and its size bounded.

    Strings keep `max_string` characters; when the whole value is longer than `max_total` characters of
    JSON it becomes that JSON's head as one string, marked as truncated.
    """
    secrets = tuple(secrets)

    def key(k: Any) -> str:  # a key is text too: a server echoing a request may put a token in one
        s = redact_text(str(k), secrets)
        return s if len(s) <= max_string else s[:max_string] + "... (truncated)"

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {key(k): (MASK if secret_key(k) and v[k] not in (None, "") else walk(v[k])) for k in v}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        if isinstance(v, str):
            s = redact_text(v, secrets)
            return s if len(s) <= max_string else s[:max_string] + "... (truncated)"
        if v is None or isinstance(v, (bool, int, float)):
            return v
        return walk(str(v))

    out = walk(value)
    text = json.dumps(out, default=str)
    if len(text) > max_total:
        return text[:max_total] + "... (truncated)"
    return out
