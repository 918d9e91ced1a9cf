"""S3 access for sources: one set of settings, resolved once, feeding every client that reads a bucket.

Credentials are resolved the way the AWS CLI resolves them (botocore: explicit keys, the environment,
`AWS_PROFILE` / a named profile, SSO, the instance role), then handed as plain keys to the other readers
(pyarrow's S3 file system, delta-rs, pyiceberg), so all of them see the same identity and endpoint.
Nothing here downloads anything at run time; botocore and pyarrow ship their S3 clients.

Timeouts are short (seconds) and there is one attempt per call: a console refresh that fails says so in
one line and the next refresh retries, instead of a worker hanging for minutes behind SDK back-off.
Every failure leaves as `StorageError`, one line naming the path, never a key or a secret. Inside a round
of reads (`endpoints.one_round`: a refresh), an endpoint one read found unreachable is not asked again by
the others: each client below refuses at once, with the reason the first read met.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from console.sources import endpoints

CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 5.0
# Frozen credentials from a profile, SSO or a role expire; re-resolve them well before that.
CREDENTIALS_TTL_S = 600.0


class StorageError(OSError):
    """One line for an operator: the path, then what went wrong. Never holds a credential."""


class ObjectReplaced(StorageError):
    """The object at this key is no longer the one whose bytes were being read (its ETag changed)."""


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    anonymous: bool = False
    connect_timeout: float = CONNECT_TIMEOUT_S
    request_timeout: float = REQUEST_TIMEOUT_S

    def secrets(self) -> list[str]:
        return [s for s in (self.access_key_id, self.secret_access_key, self.session_token) if s]


@dataclass(frozen=True)
class Credentials:
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    anonymous: bool = False


def _reveal(value):
    if value is None:
        return None
    from console.config import reveal

    return reveal(value)


def settings(storage: dict | None) -> S3Settings:
    """`storage` is the `[storage.s3]` table, or the `[storage]` table holding it; keys win over the env."""
    storage = storage or {}
    table = storage.get("s3") if isinstance(storage.get("s3"), dict) else storage
    get = lambda key: _reveal(table.get(key)) or None  # noqa: E731
    env = os.environ.get
    keys = (get("access_key_id"), get("secret_access_key"), get("session_token"))
    if not keys[0] and not get("profile"):
        # The environment's keys, as botocore would take them first; kept in the settings so that a
        # changed environment is a different identity, not a stale cached one.
        keys = (env("AWS_ACCESS_KEY_ID") or None, env("AWS_SECRET_ACCESS_KEY") or None,
                env("AWS_SESSION_TOKEN") or None)
    profile = get("profile") or (None if keys[0] else env("AWS_PROFILE")) or None
    return S3Settings(
        endpoint_url=get("endpoint_url") or env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL")
        or _profile_endpoint(profile),
        region=get("region") or env("AWS_REGION") or env("AWS_DEFAULT_REGION") or None,
        profile=profile,
        access_key_id=keys[0],
        secret_access_key=keys[1],
        session_token=keys[2],
        anonymous=bool(table.get("anonymous", False)),
        connect_timeout=float(table.get("connect_timeout", CONNECT_TIMEOUT_S)),
        request_timeout=float(table.get("request_timeout", REQUEST_TIMEOUT_S)),
    )


def _profile_endpoint(profile: str | None) -> str | None:
    """A profile's `endpoint_url` in the AWS config file (top level, or under `s3 =`), as the AWS CLI takes it:
    botocore's client would use it, pyarrow's and delta-rs's readers would not, so it is resolved once here."""
    if not profile or os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    try:
        scoped = _session(S3Settings(profile=profile)).get_scoped_config()
    except Exception:  # a missing profile is said where the credentials are resolved, naming the path
        return None
    nested = scoped.get("s3") if isinstance(scoped.get("s3"), dict) else {}
    return nested.get("endpoint_url") or scoped.get("endpoint_url") or None


def endpoint_url(s: S3Settings) -> str:
    """The server every reader sends to: the configured endpoint, else AWS's S3 endpoint of the region."""
    return s.endpoint_url or f"https://s3.{s.region or 'default'}.amazonaws.com"


def _reachable(s: S3Settings, where: str) -> None:
    """Refuses at once when a read in this round found the endpoint unreachable (`endpoints`): the same
    reason, naming `where`, without a second wait."""
    reason = endpoints.unreachable(endpoint_url(s))
    if reason is not None:
        raise StorageError(redact(f"{where}: {reason}", s))


_lock = threading.Lock()
_sessions: dict[tuple, object] = {}
_clients: dict[S3Settings, tuple[float, object]] = {}
_credentials: dict[S3Settings, tuple[float, Credentials]] = {}
_filesystems: dict[S3Settings, tuple[float, object]] = {}


def _session(s: S3Settings):
    import botocore.session

    # One session per profile and config files: a session loads botocore's service models and the
    # profiles once, and clients share them.
    key = (s.profile, *(os.environ.get(v) for v in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")))
    with _lock:
        if key not in _sessions:
            _sessions[key] = botocore.session.Session(profile=s.profile)
        return _sessions[key]


def region(s: S3Settings, where: str = "s3") -> str:
    if s.region:
        return s.region
    try:
        return _session(s).get_config_variable("region") or "us-east-1"
    except Exception as exc:
        raise error(where, exc, s) from None


def credentials(s: S3Settings, where: str = "s3") -> Credentials:
    if s.anonymous:
        return Credentials(anonymous=True)
    if s.access_key_id and s.secret_access_key:
        return Credentials(s.access_key_id, s.secret_access_key, s.session_token)
    now = time.monotonic()
    with _lock:
        hit = _credentials.get(s)
    if hit and now - hit[0] < CREDENTIALS_TTL_S:
        return hit[1]
    try:
        found = _session(s).get_credentials()
    except Exception as exc:
        raise error(where, exc, s) from None
    if found is None:
        raise StorageError(
            f"{where}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or access_key_id / secret_access_key / profile in [storage.s3])"
        )
    frozen = found.get_frozen_credentials()
    creds = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    with _lock:
        _credentials[s] = (now, creds)
    return creds


def client(s: S3Settings, where: str = "s3"):
    """A botocore S3 client (listing with ETags, ranged reads with If-Match)."""
    _reachable(s, where)
    now = time.monotonic()
    with _lock:
        hit = _clients.get(s)
    if hit and now - hit[0] < CREDENTIALS_TTL_S:
        return hit[1]
    from botocore import UNSIGNED
    from botocore.config import Config

    creds = credentials(s, where)
    config = Config(
        connect_timeout=s.connect_timeout,
        read_timeout=s.request_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"} if s.endpoint_url else {},
        signature_version=UNSIGNED if creds.anonymous else None,
        user_agent_extra="mlops-console",
    )
    session = _session(s)
    try:
        with _lock:  # creating clients from one session is not thread-safe; using them is
            made = session.create_client(
                "s3",
                region_name=s.region or session.get_config_variable("region") or "us-east-1",
                endpoint_url=s.endpoint_url,
                aws_access_key_id=creds.access_key,
                aws_secret_access_key=creds.secret_key,
                aws_session_token=creds.token,
                config=config,
            )
    except Exception as exc:
        raise error(where, exc, s) from None
    with _lock:
        _clients[s] = (now, made)
    return made


def filesystem(s: S3Settings, where: str = "s3"):
    """pyarrow's S3 file system (C++, ships in the wheel) for scanning Parquet in place."""
    _reachable(s, where)
    now = time.monotonic()
    with _lock:
        hit = _filesystems.get(s)
    if hit and now - hit[0] < CREDENTIALS_TTL_S:
        return hit[1]
    import pyarrow.fs as pafs

    creds = credentials(s, where)
    kwargs = {}
    if s.endpoint_url:
        parts = urlsplit(s.endpoint_url if "://" in s.endpoint_url else f"https://{s.endpoint_url}")
        kwargs.update(scheme=parts.scheme or "https", endpoint_override=parts.netloc + parts.path.rstrip("/"))
    fs = pafs.S3FileSystem(
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        session_token=creds.token,
        anonymous=creds.anonymous,
        region=region(s, where),
        connect_timeout=s.connect_timeout,
        request_timeout=s.request_timeout,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
        **kwargs,
    )
    with _lock:
        _filesystems[s] = (now, fs)
    return fs


def object_store_options(s: S3Settings, where: str = "s3") -> dict[str, str]:
    """The same identity as delta-rs (object_store) configuration keys."""
    _reachable(s, where)
    creds = credentials(s, where)
    # object_store retries a failed request 10 times by default: one attempt, as the other readers make.
    opts = {"AWS_REGION": region(s, where), "timeout": f"{s.request_timeout:g}s",
            "connect_timeout": f"{s.connect_timeout:g}s", "max_retries": "0"}
    if creds.anonymous:
        opts["AWS_SKIP_SIGNATURE"] = "true"
    else:
        opts["AWS_ACCESS_KEY_ID"] = creds.access_key
        opts["AWS_SECRET_ACCESS_KEY"] = creds.secret_key
        if creds.token:
            opts["AWS_SESSION_TOKEN"] = creds.token
    if s.endpoint_url:
        opts["AWS_ENDPOINT_URL"] = s.endpoint_url
        opts["AWS_ALLOW_HTTP"] = "true" if s.endpoint_url.startswith("http://") else "false"
        opts["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
    return opts


def fileio_properties(s: S3Settings, where: str = "s3") -> dict[str, str]:
    """The same identity as pyiceberg FileIO properties."""
    _reachable(s, where)
    creds = credentials(s, where)
    props = {"s3.region": region(s, where), "s3.connect-timeout": f"{s.connect_timeout:g}",
             "s3.request-timeout": f"{s.request_timeout:g}",
             "s3.retry-strategy-impl": "console.sources.s3_retry.OneAttempt"}
    if creds.anonymous:
        props["s3.anonymous"] = "true"
    else:
        props["s3.access-key-id"] = creds.access_key
        props["s3.secret-access-key"] = creds.secret_key
        if creds.token:
            props["s3.session-token"] = creds.token
    if s.endpoint_url:
        props["s3.endpoint"] = s.endpoint_url
        props["s3.force-virtual-addressing"] = "false"
    return props


# What each failure means to an operator, keyed by the S3 error code as botocore, pyarrow (AWS C++ SDK
# enum names) and object_store spell it.
_REASONS = [
    (("NoSuchBucket", "NO_SUCH_BUCKET"), "bucket does not exist"),
    (("NoSuchKey", "NO_SUCH_KEY", "RESOURCE_NOT_FOUND", "404", "NotFound"), "no such object"),
    (("InvalidAccessKeyId", "INVALID_ACCESS_KEY_ID"),
     "access key not recognised by the server (check AWS_ACCESS_KEY_ID / access_key_id, or the profile)"),
    (("SignatureDoesNotMatch", "SIGNATURE_DOES_NOT_MATCH"),
     "secret key does not match the access key (check AWS_SECRET_ACCESS_KEY / secret_access_key)"),
    (("ExpiredToken", "EXPIRED_TOKEN", "InvalidToken"), "session token expired or invalid"),
    (("AccessDenied", "ACCESS_DENIED", "403", "Forbidden"),
     "access denied (check the access key and secret, or the bucket's policy)"),
    (("PreconditionFailed", "412"), "object replaced since it was listed (ETag changed)"),
    (("InvalidBucketName",), "invalid bucket name"),
    (("PermanentRedirect", "301", "AuthorizationHeaderMalformed"),
     "bucket is in another region (set AWS_REGION / region)"),
]


def _code_reason(text: str) -> str | None:
    for codes, reason in _REASONS:
        for code in codes:
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(code)}(?![A-Za-z0-9_])", text):
                return reason
    return None


def _network_reason(exc: BaseException, text: str, s: S3Settings | None) -> str | None:
    name = type(exc).__name__
    endpoint = (s.endpoint_url if s else None) or "the S3 endpoint"
    timeout = s.request_timeout if s else REQUEST_TIMEOUT_S
    low = text.lower()
    if name in ("ReadTimeoutError",) or "read timeout" in low or "timed out" in low or "timeout was reached" in low \
            or "operation timed out" in low or "request_timeout" in low:
        return f"no answer from {endpoint} within {timeout:g} s (network timeout)"
    if name in ("ConnectTimeoutError",) or "connect timeout" in low:
        return f"cannot connect to {endpoint} within {s.connect_timeout if s else CONNECT_TIMEOUT_S:g} s"
    if name in ("EndpointConnectionError", "ConnectionClosedError") or "couldn't connect" in low \
            or "connection refused" in low or "network_connection" in low or "could not connect" in low \
            or "error sending request" in low or "dns error" in low:
        return f"cannot reach {endpoint} (connection refused or host unreachable)"
    return None


def redact(text: str, s: S3Settings | None = None, extra: list[str] | tuple = ()) -> str:
    from console.redact import redact_text

    text = redact_text(text, [*(s.secrets() if s else []), *extra])
    # Anything that looks like a key id or a signature, wherever it came from.
    text = re.sub(r"\b(AKIA|ASIA)[A-Z0-9]{12,}\b", "***", text)
    text = re.sub(r"(Signature=|Credential=)[^\s,&]+", r"\1***", text)
    return text


def error_code(exc: BaseException) -> str:
    """The S3 error code botocore parsed from the response ("" when there was no response)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


# A frame of a Rust backtrace (delta-rs, object_store) printed under the message: "   0: <unknown>".
_FRAME = re.compile(r"^\s+\d+: ", re.M)


# The colour a native reader puts around its chain of causes ("ESC[31m↳ESC[0m"): decoration, spelled out as
# `\x1b[31m` in every note once the message is made printable.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _without_backtrace(text: str) -> str:
    """The message a native reader gave, without the backtrace it may print under it (one line is read) and
    without its colour codes."""
    frame = _FRAME.search(text)
    return _SGR.sub("", text[:frame.start()] if frame else text)


def error(where: str, exc: BaseException, s: S3Settings | None = None) -> StorageError:
    """Turn any client's failure into one redacted line naming `where`."""
    if isinstance(exc, StorageError):
        return exc
    name = type(exc).__name__
    text = " ".join(_without_backtrace(str(exc)).split())
    code = error_code(exc)
    reason = None
    if name == "ProfileNotFound":
        reason = f"AWS profile {(s.profile if s else None) or os.environ.get('AWS_PROFILE', '')!r} not found"
    elif name in ("NoCredentialsError", "PartialCredentialsError"):
        reason = "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)"
    aws = re.search(r"AWS Error ([A-Z_]+)", text)  # pyarrow's (AWS C++ SDK) spelling of the code
    if reason is None and (code or aws):
        reason = _code_reason(code or aws.group(1))
    if reason is None:
        reason = _network_reason(exc, text, s)
        if reason is not None and s is not None:  # the round's other reads on this endpoint do not wait again
            endpoints.found_unreachable(endpoint_url(s), reason)
    if reason is None and (isinstance(exc, FileNotFoundError) or "Path does not exist" in text):
        reason = "no such object" if where.startswith(("s3://", "s3a://", "s3n://")) else "no such file"
    if reason is None and ("magic bytes not found" in text or "Is this a 'parquet' file" in text):
        reason = "not a Parquet file, or a damaged one"
    if reason is None:
        reason = _code_reason(text) or text[:200] or name
    cls = ObjectReplaced if reason.startswith("object replaced") else StorageError
    return cls(redact(f"{where}: {reason}", s))


FORGET_S = 7 * 86400.0  # how long a deleted object's entry is kept in case its key is written again (the tailer's)


def prune_seen(seen: dict[str, dict], listed, now: float | None = None) -> tuple[dict[str, dict], list[str]]:
    """An object cursor (`{url: {etag, size}}`) after a full listing, and the objects deleted since the last one.

    Objects are immutable and each is read once. One deleted from the bucket (a lifecycle rule, a cleanup) keeps
    its entry, marked `gone`, for FORGET_S: its rows stay in the store, so a key written again (a re-export, a
    backfill after a lifecycle rule) is the object already read, not a new one (its 492 rows were counted
    twice); after that the entry goes, so the cursor does not grow by one entry per object ever read. Give it only
    the result of a listing that succeeded over the source's whole location (not a time-pruned one): an object
    missing from a partial listing is not deleted."""
    now = time.time() if now is None else now
    listed_now = {getattr(i, "path", i) for i in listed}
    out: dict[str, dict] = {}
    gone: list[str] = []
    for url, v in seen.items():
        if url in listed_now:
            out[url] = {k: x for k, x in v.items() if k != "gone"}
        elif "gone" not in v:
            out[url] = {**v, "gone": now}
            gone.append(url)
        elif now - float(v["gone"]) <= FORGET_S:
            out[url] = v
    return out, gone
