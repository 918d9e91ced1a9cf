"""The MLflow model registry, seen through plain frozen dataclasses.

mlflow is imported on first use, never at module import: it costs over a second and the TUI's
first frame must not wait for it. Every failure becomes `RegistryUnavailable` (cannot reach or
open the registry: the console shows a degraded state) or `RegistryError` (the registry answered
no: unknown model, bad value). Prompts (MLflow 3 prompt registry) are registered models tagged
`mlflow.prompt.is_prompt`; `MlflowClient` hides them, so this adapter goes through the lower-level
registry client that does not. One `Registry` may be shared by worker threads.

Every HTTP call has a short timeout and no retry (`HTTP_DEFAULTS`): a registry that accepts and never
answers costs one timeout, not MLflow's default minutes. And one timeout per pass, not one per call: once a
call finds the registry unavailable, the calls after it fail at once (a circuit breaker) for `COOLDOWN_S`,
the console's registry check interval, after which one call tries again. Messages never carry the URI's
credentials.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from console.redact import redact_text, redact_uri

PROMPT_TAG = "mlflow.prompt.is_prompt"
_PROMPT_FILTER = f"tags.`{PROMPT_TAG}` = 'true'"
# A down or hung server must fail within seconds, not after MLflow's default 7 retries x 120 s:
# one attempt of at most 3 s (connect, then each read). The console sets these for its process; a value
# the operator exported (MLFLOW_HTTP_REQUEST_TIMEOUT=10, say) is kept.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "3",
}
COOLDOWN_S = 15.0  # after a call found the registry unavailable, the next calls fail at once for this long
T = TypeVar("T")


class RegistryError(Exception):
    """The registry answered, but no: unknown model or version, invalid value."""


class RegistryNotFound(RegistryError):
    """The model, version or alias does not exist."""


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached or opened (connection refused, timeout, bad URI). `reason`: why, without when
    it is asked again (the breaker's "(not asked again for 9 s: ...)"), for a status line that says the state."""

    def __init__(self, message: str = "", reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class RegistryNotConfigured(RegistryUnavailable):
    """No tracking URI at all: the configuration's to fix (a usage error, exit 2), not a registry that failed."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, str]  # alias -> version
    latest_version: str | None
    last_updated: datetime | None
    is_prompt: bool = False


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    created: datetime | None
    status: str
    run_id: str | None
    source: str
    tags: dict[str, str]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Lineage:
    run_id: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    git_commit: str | None = None
    datasets: list[tuple[str, str, str]] = field(default_factory=list)  # (name, digest, context)


def _password(uri: str) -> str | None:
    """The userinfo of a URI (masked in every message even where it appears without the URI around it)."""
    if "://" not in uri:
        return None
    netloc = uri.split("://", 1)[1].split("/", 1)[0]
    if "@" not in netloc:
        return None
    info = netloc.rsplit("@", 1)[0]
    return info.split(":", 1)[1] if ":" in info and len(info.split(":", 1)[1]) >= 4 else None


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None


def _is_prompt_entity(rm: Any) -> bool:
    # Over REST the model-level tag is stripped; the prompt versions keep it.
    if str((rm.tags or {}).get(PROMPT_TAG, "")).lower() == "true":
        return True
    return any(str((v.tags or {}).get(PROMPT_TAG, "")).lower() == "true" for v in (rm.latest_versions or []))


def _aliases(rm: Any) -> dict[str, str]:
    # The sqlite store answers int versions, the REST store strings.
    return {str(k): str(v) for k, v in (rm.aliases or {}).items()}


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), version) if str(version).isdigit() else (-1, str(version))


class Registry:
    """One MLflow registry (tracking URI); safe to share between threads."""

    def __init__(self, tracking_uri: str, registry_uri: str | None = None, cooldown_s: float = COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic, secrets: tuple[str, ...] = ()):
        if not tracking_uri:
            raise RegistryNotConfigured("no registry configured: set [registry] tracking_uri or pass --registry")
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        # the values of the `${VAR}`s the URI was made of (`Secret.parts`): one in its path or query
        # (`http://host/${TOKEN}/`) is no password, and was printed, toasted and audited with every error
        self._secrets = tuple(secrets)
        self._client: Any = None
        self._init_lock = threading.Lock()
        self.cooldown_s, self._clock = cooldown_s, clock
        self._down: tuple[float, str] | None = None  # (when a call found it unavailable, why): the breaker is open
        self._down_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Registry({self.display_uri!r})"

    @property
    def display_uri(self) -> str:
        """The URI without credentials, for messages."""
        return redact_text(redact_uri(self.tracking_uri), self._secrets)

    # ------------------------------------------------------------------ plumbing

    def _registry_client(self) -> Any:
        if self._client is None:
            with self._init_lock:
                if self._client is None:
                    if self.tracking_uri.startswith(("http://", "https://")):
                        for key, value in HTTP_DEFAULTS.items():
                            os.environ.setdefault(key, value)
                    try:
                        from mlflow.tracking import MlflowClient
                        _quiet_mlflow()
                        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
                        # The registry client below MlflowClient does not hide prompts.
                        self._client = client, client._get_registry_client()
                    except Exception as exc:  # bad URI, store cannot open
                        raise self._translate(exc) from None
        return self._client

    def _translate(self, exc: BaseException) -> RegistryError:
        code = getattr(exc, "error_code", None)
        text = str(getattr(exc, "message", None) or exc).strip()
        secrets = [p for p in (_password(self.tracking_uri), _password(self.registry_uri)) if p] + [*self._secrets]
        message = redact_text(text.splitlines()[0][:300], secrets) if text else type(exc).__name__
        if type(exc).__name__ == "UnsupportedModelRegistryStoreURIException":
            return RegistryUnavailable(f"registry {self.display_uri}: unsupported URI")
        if code == "RESOURCE_DOES_NOT_EXIST":
            return RegistryNotFound(message)
        if code in ("INVALID_PARAMETER_VALUE", "RESOURCE_ALREADY_EXISTS", "BAD_REQUEST", "INVALID_STATE",
                    "PERMISSION_DENIED", "UNAUTHENTICATED"):
            return RegistryError(f"registry {self.display_uri}: {message}")
        # The server answered, with errors (a 500 while its database is down, a proxy's 503): up but failing, not
        # "unreachable". MLflow up to 3.17 gave up on the status without retries ("too many 500 error responses");
        # 3.18 passes the answer on: a body of text as "failed with error code 503", a JSON one as a RestException
        # carrying the server's own error (its status is not kept).
        answered = re.search(r"too many (\d{3}) error responses|failed with error code (\d{3})", text)
        if answered:
            status = answered.group(1) or answered.group(2)
            kind = "a server error" if status >= "500" else "an error"
            return RegistryUnavailable(f"registry {self.display_uri} answers HTTP {status} ({kind})")
        if type(exc).__name__ == "RestException":
            return RegistryUnavailable(f"registry {self.display_uri} answers with an error: {message}")
        if "Max retries exceeded" in message or "API request to" in message or "Connection" in message \
                or "timed out" in message.lower() or "Timeout" in message:
            return RegistryUnavailable(f"registry {self.display_uri} is unreachable")
        return RegistryUnavailable(f"registry {self.display_uri}: {message}")

    def _guarded(self, fn: Callable[[Any], T], which: int) -> T:
        """Every call goes through here: fails at once while the breaker is open; opens it on an unavailable
        registry (a timeout, a refused connection), closes it on any answer."""
        with self._down_lock:
            down = self._down
        if down is not None:
            ago = self._clock() - down[0]
            if ago < self.cooldown_s:
                raise RegistryUnavailable(f"{down[1]} (not asked again for {self.cooldown_s - ago:.0f} s: it failed "
                                          f"{ago:.0f} s ago)", reason=down[1])
        try:
            clients = self._registry_client()
            result = fn(clients[which])
        except RegistryUnavailable as exc:
            self._trip(str(exc))
            raise
        except RegistryError:
            self._close()
            raise
        except Exception as exc:
            err = self._translate(exc)
            if isinstance(err, RegistryUnavailable):
                self._trip(str(err))
            else:
                self._close()
            raise err from None
        self._close()
        return result

    def _trip(self, message: str) -> None:
        with self._down_lock:
            self._down = (self._clock(), message)

    def _close(self) -> None:
        with self._down_lock:
            self._down = None

    def _call(self, fn: Callable[[Any], T]) -> T:
        return self._guarded(fn, 1)

    def _tracking(self, fn: Callable[[Any], T]) -> T:
        return self._guarded(fn, 0)

    # ------------------------------------------------------------------ reads

    def ping(self) -> None:
        """Raise `RegistryUnavailable` unless the registry answers a search."""
        self._call(lambda rc: rc.search_registered_models(max_results=1))

    def _search_all(self, rc: Any, filter_string: str | None) -> list[Any]:
        out, token = [], None
        while True:
            page = rc.search_registered_models(filter_string=filter_string, max_results=1000, page_token=token)
            out.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return out

    def list_models(self, include_prompts: bool = True) -> list[ModelInfo]:
        """Registered models and, by default, prompts, sorted by name."""
        def fetch(rc: Any) -> list[ModelInfo]:
            models = [self._model_info(rm) for rm in self._search_all(rc, None)]
            if include_prompts:
                models += [self._model_info(rm, is_prompt=True) for rm in self._search_all(rc, _PROMPT_FILTER)]
            return sorted(models, key=lambda m: m.name)
        return self._call(fetch)

    def _model_info(self, rm: Any, is_prompt: bool | None = None) -> ModelInfo:
        versions = [v.version for v in (rm.latest_versions or [])]
        latest = max(versions, key=_version_key) if versions else None
        tags = {k: v for k, v in (rm.tags or {}).items() if k != PROMPT_TAG}
        return ModelInfo(
            name=rm.name, description=rm.description or "", tags=tags, aliases=_aliases(rm),
            latest_version=latest, last_updated=_ts(rm.last_updated_timestamp),
            is_prompt=_is_prompt_entity(rm) if is_prompt is None else is_prompt)

    def get_model(self, name: str) -> ModelInfo:
        return self._call(lambda rc: self._model_info(rc.get_registered_model(name)))

    def versions(self, name: str) -> list[VersionInfo]:
        """All versions, newest first, each with the aliases pointing at it."""
        def fetch(rc: Any) -> list[VersionInfo]:
            rm = rc.get_registered_model(name)
            quoted = name.replace("'", "\\'")
            flt = f"name='{quoted}'" + (f" AND {_PROMPT_FILTER}" if _is_prompt_entity(rm) else "")
            found, token = [], None
            while True:
                page = rc.search_model_versions(flt, max_results=10000, page_token=token)
                found.extend(page)
                token = getattr(page, "token", None)
                if not token:
                    break
            by_version: dict[str, list[str]] = {}
            for alias, version in _aliases(rm).items():
                by_version.setdefault(str(version), []).append(alias)
            out = [VersionInfo(
                name=v.name, version=str(v.version), created=_ts(v.creation_timestamp), status=str(v.status),
                run_id=v.run_id or None, source=v.source or "", tags=dict(v.tags or {}),
                aliases=tuple(sorted(by_version.get(str(v.version), ())))) for v in found]
            return sorted(out, key=lambda v: _version_key(v.version), reverse=True)
        return self._call(fetch)

    def get_version(self, name: str, version: str) -> VersionInfo:
        """One version (aliases filled in); `RegistryNotFound` when it does not exist. An MLflow version is a
        number: one that is not (a deploy system's `1.4.2` in the deployment log, a rollback's target) is not held,
        not asked (MLflow's "must be an integer" made `rollback` a usage error, unaudited)."""
        if not re.fullmatch(r"[0-9]+", str(version).strip()):  # (ASCII: `isdigit` holds for "²", int("٣") is 3)
            raise RegistryNotFound(f"{name} has no version {version}")

        def fetch(rc: Any) -> VersionInfo:
            v = rc.get_model_version(name, str(version))
            return VersionInfo(
                name=v.name, version=str(v.version), created=_ts(v.creation_timestamp), status=str(v.status),
                run_id=v.run_id or None, source=v.source or "", tags=dict(v.tags or {}),
                aliases=tuple(sorted(v.aliases or ())))
        return self._call(fetch)

    def lineage(self, name: str, version: str) -> Lineage:
        """The run behind a version: params, metrics, git commit, datasets. No run: an empty lineage."""
        mv = self._call(lambda rc: rc.get_model_version(name, str(version)))
        if not mv.run_id:
            return Lineage(run_id=None)
        run = self._tracking(lambda c: c.get_run(mv.run_id))
        datasets = []
        for d in (run.inputs.dataset_inputs if run.inputs else []) or []:
            context = next((t.value for t in d.tags if t.key == "mlflow.data.context"), "")
            datasets.append((d.dataset.name, d.dataset.digest, context))
        return Lineage(
            run_id=mv.run_id, params=dict(run.data.params), metrics=dict(run.data.metrics),
            git_commit=run.data.tags.get("mlflow.source.git.commit"), datasets=datasets)

    def aliases(self, name: str) -> dict[str, str]:
        return self._call(lambda rc: _aliases(rc.get_registered_model(name)))

    def alias_version(self, name: str, alias: str) -> str | None:
        """The version an alias points to, None when the alias is not set."""
        return self.aliases(name).get(alias)

    def model_tags(self, name: str) -> dict[str, str]:
        return self._call(lambda rc: dict(rc.get_registered_model(name).tags or {}))

    # ------------------------------------------------------------------ writes

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call(lambda rc: rc.set_registered_model_alias(name, alias, str(version)))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias; removing one that is not set is not an error."""
        if alias in self.aliases(name):
            self._call(lambda rc: rc.delete_registered_model_alias(name, alias))

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._call(lambda rc: rc.set_registered_model_tag(name, key, value))

    def delete_model_tag(self, name: str, key: str) -> None:
        """Remove a tag; removing one that is not set is not an error."""
        if key in self.model_tags(name):
            self._call(lambda rc: rc.delete_registered_model_tag(name, key))


def _quiet_mlflow() -> None:
    """MLflow's own loggers say nothing below CRITICAL: a failed write logged an ERROR with two tracebacks (80
    lines, the lease's token among the SQL parameters) before the console's one line said what failed, and in the
    TUI it would write over the screen. `MLOPS_CONSOLE_DEBUG` keeps them."""
    import logging

    if not os.environ.get("MLOPS_CONSOLE_DEBUG"):
        logging.getLogger("mlflow").setLevel(logging.CRITICAL)
