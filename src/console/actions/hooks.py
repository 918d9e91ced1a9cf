"""Deploy and retrain hooks: the console tells the serving or training system, and hears back.

A hook is an HTTP endpoint (POST JSON, `Idempotency-Key` = the action id, retried with exponential
backoff on 5xx and connection errors, never on 4xx) or a command (argument list, no
shell, payload as JSON on stdin). Header values may be secrets: they are revealed only into the
request and never appear in results, messages or the audit trail; response bodies are redacted
(bearer tokens, Authorization headers, passwords in URLs, every secret of the config) and truncated
before anything keeps them (`console.redact`).

A request that was sent but never answered (read timeout, connection dropped mid-answer, a command
killed at its timeout) may have been applied: its result is `unknown`, never "nothing changed". Such a
request is sent again only to a hook declared `idempotent = true` (one that honours the Idempotency-Key: a
deploy applied twice is not a no-op otherwise). And one call to a hook, every attempt and backoff together,
ends by `deadline_s` (15 s): an unreachable or hung hook costs seconds, not the minutes of 4 tries x 10 s.
`validate` resolves the URL and headers (`${VAR}`) and checks the URL before an action writes its intent.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from console.config import Config, ConfigError, Secret, Webhook, reveal
from console.redact import redact_text, redact_uri, redact_value, secret_key

BACKOFF_S = 0.5
DONE_STATES = {"succeeded", "success", "failed", "error", "done", "completed", "cancelled", "canceled"}


@dataclass(frozen=True)
class HookResult:
    ok: bool
    skipped: bool = False
    attempts: int = 0
    status_code: int | None = None
    response: Any = None  # parsed JSON body or text, redacted and truncated
    message: str = ""
    unknown: bool = False  # a request may have been applied without an answer (timed out after sending)

    @property
    def status_url(self) -> str | None:
        return self.response.get("status_url") if isinstance(self.response, dict) else None

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def secrets_of(cfg: Config | None, hook: Webhook | None = None) -> tuple[str, ...]:
    """Every secret value the config holds (header values, URLs, the tracking URI, the audit sink, the S3
    credentials), for masking responses. A hook's command inherits the environment the `[storage.s3]` keys
    come from, and echoed one into its output and so into the audit trail."""
    found: list[str] = []
    values: list[Any] = [getattr(cfg, "tracking_uri", None), getattr(cfg, "audit_sink", None)] if cfg is not None else []
    for h in list((cfg.webhooks if cfg is not None else {}).values()) + ([hook] if hook else []):
        values += [h.url, *h.headers.values()]
        # written in the config as they are (no ${VAR}): a credential header's value, and a URL's path segments
        # and query values (a Slack-style hook carries its token in its path), as a 403 may echo them
        for name, v in h.headers.items():
            if isinstance(v, str) and secret_key(name):  # (a `Secret` is revealed and masked below)
                found += [v, *_words(v)]
        if isinstance(h.url, str):
            parts = urlsplit(h.url)
            found += [seg for seg in parts.path.split("/") if len(seg) >= 8]
            found += [val for _, val in parse_qsl(parts.query) if len(val) >= 8]
    s3 = getattr(cfg, "s3", None)
    if s3 is not None:
        values += [s3.endpoint_url]
        for key in (s3.access_key_id, s3.secret_access_key):  # secret whether or not written as ${VAR}
            if isinstance(key, str) and len(key) >= 6:
                found.append(key)
            else:
                values.append(key)
    for v in values:
        if isinstance(v, Secret):
            try:
                text = v.reveal()
            except ConfigError:
                continue
            found.append(text)
            found += _words(text)  # "Bearer <token>": the token alone too
            found += v.parts()  # a `${VAR}` inside a URL's path, echoed by a hook's 404 without the host
    # what a command hook inherits: the environment's credentials (the S3 keys the console reads with, a
    # registry password), printed by a failing script's `env` or `set -x`
    found += [val for name, val in os.environ.items() if _CREDENTIAL_ENV.search(name) and len(val) >= 6]
    return tuple(found)


_AUTH_SCHEMES = {"bearer", "basic", "token", "digest"}


def _words(value: str) -> list[str]:
    """A header value's words long enough to mask alone, but not its scheme: "Bearer" taken as a secret was
    masked first, so `Bearer <any other token>` in a hook's reply no longer matched the bearer pattern and its
    token was stored in the audit trail ("*** abcdefSECRET")."""
    return [part for part in value.split() if len(part) >= 6 and part.lower() not in _AUTH_SCHEMES]


# an environment variable holding a credential, by its name
_CREDENTIAL_ENV = re.compile(r"secret|passw|token|api_?key|access_?key|private_?key|credential|^AWS_ACCESS_KEY_ID$",
                             re.IGNORECASE)


def _body(text: str, secrets: tuple[str, ...] = ()) -> Any:
    try:
        body = json.loads(text)
    except ValueError:
        body = text[:4000]
    return redact_value(body, secrets)


BODY_MAX_BYTES = 64 * 1024  # more is never kept (`redact_value` keeps 2,000 characters)


def _exchange(client: Any, method: str, url: str, deadline: float, *, body: bool = True,
              **kw: Any) -> tuple[int, str]:
    """(status, body text) of one request, its body read until `deadline` or `BODY_MAX_BYTES`, whichever comes
    first. httpx's timeout bounds each read, not the call: a hook trickling its answer a byte at a time (or a
    deploy endpoint streaming its progress) held the action, its model lock and its lease past `deadline_s` for
    as long as it kept sending. The status line is the answer; the body is kept as far as it arrived. Headers
    still arriving at `deadline` (trickled a byte at a time) are cut there: the connection is shut and the
    request raises `httpx.ReadTimeout` (sent, not answered). `body=False`: the status alone (the audit sink)."""
    import httpx

    sockets: list[socket.socket] = []
    cut = threading.Event()

    def trace(event: str, info: dict) -> None:  # httpcore names the connection's socket once it is open
        if event == "connection.connect_tcp.complete":
            sock = info["return_value"].get_extra_info("socket")
            if sock is not None:
                sockets.append(sock)
                if cut.is_set():
                    _shut(sock)

    def stop() -> None:
        cut.set()
        for sock in sockets:
            _shut(sock)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), stop)
    timer.daemon = True
    timer.start()
    try:
        with client.stream(method, url, extensions={"trace": trace}, **kw) as resp:
            raw = bytearray()
            try:
                for chunk in resp.iter_bytes() if body else ():
                    raw += chunk
                    if len(raw) >= BODY_MAX_BYTES or time.monotonic() >= deadline:
                        break
            except httpx.TransportError:
                if not cut.is_set():
                    raise
            return resp.status_code, bytes(raw[:BODY_MAX_BYTES]).decode(resp.encoding or "utf-8", errors="replace")
    except httpx.TransportError as exc:
        if cut.is_set() and not isinstance(exc, httpx.TimeoutException):
            raise httpx.ReadTimeout(f"no answer by the deadline ({type(exc).__name__})") from None
        raise
    finally:
        timer.cancel()


def _shut(sock: socket.socket) -> None:
    """Wake a read blocked on `sock` (closing it from another thread does not)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _tries(n: int) -> str:
    return f"{n} {'try' if n == 1 else 'tries'}"


def validate(cfg: Config, name: str) -> None:
    """Raise ConfigError (naming the key) unless `[webhooks.<name>]` can be called as configured: its
    `${VAR}`s are set and its URL is an absolute http(s) URL. Not configured: nothing to check."""
    hook = cfg.webhooks.get(name)
    if not hook or not (hook.url or hook.command):
        return
    for key, value in hook.headers.items():
        text = reveal(value)
        if "\n" in text or "\r" in text:
            raise ConfigError(f"webhooks.{name}.headers.{key}", "a header value cannot contain a line break")
    if not hook.url:
        return
    import httpx

    url = reveal(hook.url)
    try:
        parsed = httpx.URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.host)
    except (httpx.InvalidURL, ValueError, TypeError):
        ok = False
    if not ok:  # shown as configured: a `${VAR}` in it stays a name
        shown = hook.url.template if isinstance(hook.url, Secret) and hook.url.template else redact_uri(url)
        raise ConfigError(f"webhooks.{name}.url", f"expected an absolute http(s) URL, got {shown!r}")


def post(name: str, hook: Webhook, payload: dict[str, Any], idempotency_key: str,
         backoff_s: float = BACKOFF_S, sleep: Callable[[float], None] = time.sleep,
         secrets: tuple[str, ...] = ()) -> HookResult:
    """POST the payload; `hook.retries` extra attempts after the first on 5xx and connection errors, and after
    a read timeout only for an `idempotent` hook; all of it within `hook.deadline_s`.

    An attempt that timed out after sending (or lost the connection mid-answer) makes the result `unknown`
    unless a later attempt gets a definite answer."""
    import httpx

    headers = {k: reveal(v) for k, v in hook.headers.items()}
    headers.setdefault("Content-Type", "application/json")
    headers["Idempotency-Key"] = idempotency_key
    url = reveal(hook.url)
    secrets = secrets + secrets_of(None, hook)
    last = ""
    attempts = 0
    maybe_applied = False
    deadline = time.monotonic() + hook.deadline_s
    with httpx.Client(timeout=hook.timeout_s, follow_redirects=False) as client:
        for attempt in range(hook.retries + 1):
            if attempt:
                pause = backoff_s * 2 ** (attempt - 1)
                if maybe_applied and not hook.idempotent:
                    last += "; not sent again: the hook may have applied it and is not declared idempotent"
                    break
                if deadline - time.monotonic() <= pause + 0.1:
                    last += f"; no time left for another try (deadline {hook.deadline_s:g} s)"
                    break
                sleep(pause)
            attempts = attempt + 1
            limit = max(0.1, min(hook.timeout_s, deadline - time.monotonic()))
            try:
                code, text = _exchange(client, "POST", url, deadline, content=json.dumps(payload, default=str),
                                       headers=headers, timeout=limit)
            except (httpx.ConnectTimeout, httpx.PoolTimeout):
                last = f"could not connect in time (limit {round(limit, 1):g} s)"
                continue
            except httpx.TimeoutException:
                maybe_applied = True
                last = f"timed out (limit {round(limit, 1):g} s)"
                continue
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                maybe_applied = True
                last = f"dropped the connection ({type(exc).__name__})"
                continue
            except httpx.TransportError as exc:
                last = f"unreachable ({type(exc).__name__})"
                continue
            if code < 300:
                return HookResult(True, attempts=attempts, status_code=code, response=_body(text, secrets),
                                  message=f"{name} hook accepted ({code}) after {_tries(attempts)}")
            if code < 400:  # not followed: the payload and the hook's credentials go to the configured URL only
                return HookResult(False, attempts=attempts, status_code=code, response=_body(text, secrets),
                                  unknown=maybe_applied, message=f"{name} hook answered {code}, a redirect, which is "
                                  f"not followed: set webhooks.{name}.url to the address it redirects to")
            if code < 500:
                return HookResult(False, attempts=attempts, status_code=code, response=_body(text, secrets),
                                  unknown=maybe_applied, message=f"{name} hook refused with {code}")
            last = f"failed with {code}"
            if attempt == hook.retries or deadline - time.monotonic() <= backoff_s * 2 ** attempt + 0.1:
                return HookResult(False, attempts=attempts, status_code=code,
                                  response=_body(text, secrets), unknown=maybe_applied,
                                  message=f"{name} hook {last} after {_tries(attempts)}")
    return HookResult(False, attempts=attempts, unknown=maybe_applied,
                      message=f"{name} hook {last} after {_tries(attempts)}")


def run_command(name: str, hook: Webhook, payload: dict[str, Any], idempotency_key: str,
                secrets: tuple[str, ...] = ()) -> HookResult:
    """Run the hook's argument list once, payload on stdin; exit 0 is success, stdout JSON is the response."""
    env = {**os.environ, "IDEMPOTENCY_KEY": idempotency_key}
    try:
        proc, cut = _finished(list(hook.command), json.dumps(payload, default=str), hook.timeout_s, env)
    except subprocess.TimeoutExpired:
        return HookResult(False, attempts=1, unknown=True,
                          message=f"{name} command timed out after {hook.timeout_s:g} s (it and the processes it "
                                  "started were stopped)")
    except OSError as exc:
        return HookResult(False, attempts=1, message=f"{name} command could not start: {exc.strerror or exc}")
    try:
        response: Any = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        response = proc.stdout[-4000:]
    response = redact_value(response, secrets)
    said = f" (its output cut at {BODY_MAX_BYTES // 1024} KiB: {' and '.join(cut)} read to the end, not kept)" \
        if cut else ""
    if proc.returncode == 0:
        return HookResult(True, attempts=1, response=response, message=f"{name} command succeeded{said}")
    tail = redact_text(((proc.stderr or "").strip().splitlines()[-1:] or [""])[0], secrets)[:200]
    return HookResult(False, attempts=1, response=response,
                      message=f"{name} command exited {proc.returncode}{': ' + tail if tail else ''}{said}")


def _finished(argv: list[str], stdin: str, timeout_s: float,
              env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    """The command run to its end in a process group of its own, and which of its outputs were cut; at `timeout_s`
    the whole group is killed. Killing the command alone (`subprocess.run`) left what it started running: a deploy
    script's `kubectl rollout` or `sleep; apply` went on after the console had said the hook timed out.

    Each output is read to its end but only its first `BODY_MAX_BYTES` are kept, as an HTTP hook's body is:
    `communicate` kept all of it, and a hook printing a gigabyte took a gigabyte (twice, decoded)."""
    import selectors
    import signal

    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            shell=False, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    kept = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    cut: list[str] = []
    data, sent = stdin.encode("utf-8"), 0
    try:
        with selectors.DefaultSelector() as sel:
            for out in kept:
                sel.register(out, selectors.EVENT_READ)
            if data:
                sel.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout_s)
                for key, _ in sel.select(left):
                    pipe = key.fileobj
                    if pipe is proc.stdin:
                        try:
                            sent += os.write(key.fd, data[sent:sent + 512])  # PIPE_BUF: a write that cannot block
                        except BrokenPipeError:  # it stopped reading: what it answers still counts
                            sent = len(data)
                        if sent >= len(data):
                            sel.unregister(pipe)
                            pipe.close()
                        continue
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        sel.unregister(pipe)
                        pipe.close()
                        continue
                    held = kept[pipe]
                    room = BODY_MAX_BYTES - len(held)
                    if len(chunk) > room and pipe not in cut:
                        cut.append(pipe)
                    held += chunk[:max(room, 0)]
            proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):  # a process that left the group may hold them open
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        proc.wait()
        raise
    # read as UTF-8 with what is not spelt `\ufffd`: a byte that is not (a Latin-1 name, a progress bar) raised
    # UnicodeDecodeError after the command had exited 0, and a deploy that went out was called unknown
    out, err = (bytes(kept[p]).decode("utf-8", errors="replace") for p in (proc.stdout, proc.stderr))
    return (subprocess.CompletedProcess(argv, proc.returncode, out, err),
            [{proc.stdout: "stdout", proc.stderr: "stderr"}[p] for p in cut])


def configured(cfg: Config, name: str) -> bool:
    hook = cfg.webhooks.get(name)
    return bool(hook and (hook.url or hook.command))


def invoke(cfg: Config, name: str, payload: dict[str, Any], idempotency_key: str,
           backoff_s: float = BACKOFF_S) -> HookResult:
    """Run `[webhooks.<name>]`; not configured: a skipped (successful) result that says so."""
    hook = cfg.webhooks.get(name)
    if not hook or not (hook.url or hook.command):
        return HookResult(True, skipped=True, message=f"no {name} hook configured: skipped")
    secrets = secrets_of(cfg)
    if hook.url:
        return post(name, hook, payload, idempotency_key, backoff_s, secrets=secrets)
    return run_command(name, hook, payload, idempotency_key, secrets=secrets)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    import httpx

    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    return u.scheme, u.host, u.port


def follow(status_url: str, hook: Webhook | None = None, interval_s: float = 2.0, max_wait_s: float = 0.0,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll a job's status URL (GET; the hook's headers only when it is on the hook's own origin) until it reports
    a final state or time runs out.

    `max_wait_s=0` polls once. Returns the last JSON body, with `state` normalised to lower case;
    an unreachable URL gives {"state": "unknown", "error": ...}.
    """
    import httpx

    # the hook's credentials go only to the hook's own origin: a status URL is whatever the response said
    same_origin = bool(hook and hook.url) and _origin(status_url) == _origin(reveal(hook.url))
    headers = {k: reveal(v) for k, v in hook.headers.items()} if same_origin else {}
    timeout = hook.timeout_s if hook else 10.0
    deadline = time.monotonic() + max_wait_s
    while True:
        try:
            with httpx.Client(follow_redirects=False) as client:
                code, text = _exchange(client, "GET", status_url, time.monotonic() + timeout, headers=headers,
                                       timeout=timeout)
            body = _body(text, secrets_of(None, hook))
            job = body if isinstance(body, dict) else {"body": body}
            if code >= 400:
                job = {"state": "unknown", "error": f"status URL answered {code}"}
        except httpx.HTTPError as exc:
            job = {"state": "unknown", "error": type(exc).__name__}
        state = str(job.get("state") or job.get("status") or "unknown").lower()
        job["state"] = state
        if state in DONE_STATES or time.monotonic() >= deadline:
            return job
        sleep(interval_s)


__all__ = ["HookResult", "post", "run_command", "invoke", "configured", "follow", "validate", "secrets_of"]
