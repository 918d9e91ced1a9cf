"""The console's one TOML file: validated by a msgspec schema, then turned into frozen dataclasses.

The schema (the `_*File` structs below) says what the file may hold; msgspec rejects unknown keys and
wrong types, and `_problem` turns its message into one line naming the key and what was expected, so
the CLI prints that line and exits 2 instead of a traceback. What a type cannot say (a drift test
name, a column that must be a feature, a reference file that must exist) is checked after.
Secrets come from `${VAR}` and never print.
"""

from __future__ import annotations

import math
import operator
import os
import re
import tomllib
import types
import typing
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from console.contract_fields import PROVENANCE_FIELDS, mappable
from console.csv_header import fields_of

ENV_VAR = "MLOPS_CONSOLE_CONFIG"
LOG_KINDS = ("predictions", "labels", "deployments")
# Every log format a reader exists for; `register_log_format` adds one from a reader module.
LOG_FORMATS: tuple[str, ...] = (
    "jsonl", "csv", "parquet", "delta", "iceberg", "sagemaker-capture", "sagemaker-ground-truth",
    "databricks-inference", "otlp", "mlflow-traces", "openai-batch", "kserve-cloudevents")
TASKS = ("classification", "regression", "llm")
SEVERITIES = ("info", "warning", "critical")
OPS = (">", ">=", "<", "<=")
# Every metric an [[alerts]] rule can name; the analytics that compute them are in analytics/alerts.py.
ALERT_METRICS: tuple[str, ...] = (
    "p95_ms", "error_rate", "burn_rate", "refusal_rate", "accuracy_drop", "mae_increase",
    "cost_spike", "cost_budget_share", "drift_share", "feature_drift", "stale_minutes")
# Drift tests by name, with the aliases analytics/drift.py accepts (a test keeps the two in step).
DRIFT_TESTS = ("ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z")
DRIFT_TEST_ALIASES = {
    "js": "jensenshannon", "jensen_shannon": "jensenshannon", "jensen-shannon": "jensenshannon",
    "chi2": "chisquare", "chi-square": "chisquare", "chi_square": "chisquare", "z-test": "z",
    "ztest": "z", "kolmogorov-smirnov": "ks", "wasserstein_norm": "wasserstein"}
# Reference columns that are never features (see Monitor.features).
NON_FEATURE_COLUMNS = ("label", "target", "y", "ts", "request_id")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WINDOW = r"^\s*0*[1-9]\d*\s*[smhdw]\s*$"


def register_log_format(name: str) -> None:
    """A reader module declares its format here so `[[logs]] format = name` is accepted."""
    global LOG_FORMATS
    if name not in LOG_FORMATS:
        LOG_FORMATS = (*LOG_FORMATS, name)


class ConfigError(Exception):
    """A configuration mistake, phrased for the operator: `key: expected X, got Y`."""

    def __init__(self, key: str, message: str, source: Path | None = None):
        self.key, self.message, self.source = key, message, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}")


class Secret:
    """A value pulled from the environment; shows as *** wherever it is printed.

    A lazy secret keeps its `${VAR}` template and reads the environment when revealed, so an unset
    variable is an error only where the value is used (`ConfigError` naming its key).
    """

    __slots__ = ("_value", "_template", "_key")

    def __init__(self, value: str | None = None, *, template: str | None = None, key: str = ""):
        self._value, self._template, self._key = value, template, key

    @classmethod
    def lazy(cls, template: str, key: str) -> Secret:
        return LazySecret(template, key)

    @property
    def template(self) -> str | None:
        """The value as configured, `${VAR}`s unresolved: what a message may show of it."""
        return self._template

    def parts(self) -> tuple[str, ...]:
        """The values of the environment this secret is made of, each alone (set ones, 4 characters or more): a
        response echoing a URL's path, or a message quoting part of it, is masked by them."""
        if self._template is None:
            return ()
        return tuple(v for v in (os.environ.get(n) for n in _VAR.findall(self._template)) if v and len(v) >= 4)

    def reveal(self) -> str:
        if self._template is None:
            return self._value or ""
        return _substitute(self._template, self._key)

    @property
    def key(self) -> str:
        return self._key

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = lambda self: "***"  # noqa: E731

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (other._value, other._template) == (self._value, self._template)

    def __hash__(self) -> int:
        return hash((self._value, self._template))


class LazySecret(Secret):
    """A `${VAR}` value resolved when used, not at load: an unset variable only fails the command that
    needs it (a webhook header blocks the promote that calls the hook, not `audit verify` or `snapshot`)."""

    __slots__ = ()

    def __init__(self, template: str, key: str):
        super().__init__(template=template, key=key)


def reveal(value: str | Secret) -> str:
    """The real value; a lazy secret whose variable is unset raises ConfigError naming the key."""
    return value.reveal() if isinstance(value, Secret) else value


def _substitute(template: str, key: str) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(key, f"environment variable {name} is not set")
        return os.environ[name]

    return _VAR.sub(sub, template)


# --------------------------------------------------------------------------- what the console runs with


@dataclass(frozen=True)
class LogSource:
    kind: str
    path: str  # a path, a glob or a URL, absolute after loading
    format: str | None = None  # None: from each file's extension
    options: dict[str, Any] = field(default_factory=dict, hash=False)  # passed to the format's reader
    # (contract field, the log's own name for it): `[logs.fields]`, for JSONL and CSV logs
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Environment:
    name: str
    production: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class Prices:
    input_per_1m: float = 0.0
    output_per_1m: float = 0.0
    cached_per_1m: float = 0.0
    replica_hour_usd: float = 0.0
    replicas: int = 0


@dataclass(frozen=True)
class Slo:
    p95_ms: float = 300.0
    error_rate: float = 0.01
    short_window: str = "1h"
    long_window: str = "6h"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    task: str = "classification"
    reference: Path | None = None
    features: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    positive_label: str = "1"
    budget_usd_month: float | None = None
    prices: Prices = field(default_factory=Prices)
    slo: Slo = field(default_factory=Slo)
    drift_columns: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Webhook:
    url: str | Secret | None = None
    headers: dict[str, str | Secret] = field(default_factory=dict)
    command: tuple[str, ...] = ()
    timeout_s: float = 10.0
    retries: int = 3
    deadline_s: float = 15.0  # every attempt and backoff of one call together: a hung hook costs seconds
    idempotent: bool = False  # the hook honours Idempotency-Key: a request that timed out may be sent again


# a rule's operators (analytics.alerts.breaches compares by them; the config checks rules with them)
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class AlertRule:
    name: str
    metric: str
    op: str
    threshold: float
    model: str | None = None
    feature: str | None = None
    window: str = "1h"
    severity: str = "warning"


@dataclass(frozen=True)
class Ingest:
    """How the data path waits: for a writer's unterminated last line, and for clocks running ahead."""
    partial_line_grace: str = "30s"
    future_tolerance: str = "5m"

    @property
    def partial_line_grace_s(self) -> float:
        return window_seconds(self.partial_line_grace)

    @property
    def future_tolerance_s(self) -> float:
        return window_seconds(self.future_tolerance)


@dataclass(frozen=True)
class S3Storage:
    """Credentials and endpoint for `s3://` log paths; secrets resolve when a reader asks for them."""
    endpoint_url: str | Secret | None = None
    region: str | Secret | None = None
    access_key_id: str | Secret | None = None
    secret_access_key: str | Secret | None = None
    profile: str | Secret | None = None


@dataclass(frozen=True)
class Config:
    source: Path | None
    root: Path  # relative paths resolve against this folder
    workspace: str = "default"
    tracking_uri: str | Secret = ""
    refresh_seconds: float = 5.0
    read_only: bool = False
    theme: str = "console-dark"
    logs: tuple[LogSource, ...] = ()
    environments: dict[str, Environment] = field(default_factory=dict)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    drift_share: float = 0.5
    canary_steps: tuple[int, ...] = (10, 25, 50, 100)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    audit_path: Path | None = None
    audit_sink: str | Secret | None = None  # "http(s)://..." or "syslog" / "syslog://host:port": a copy of each record
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    alerts: tuple[AlertRule, ...] = ()
    auto_retrain: bool = False
    store_path: Path | None = None  # None: the XDG cache
    ingest: Ingest = field(default_factory=Ingest)
    s3: S3Storage = field(default_factory=S3Storage)
    rollups_path: Path | str | None = None  # a local folder, or an s3:// URL kept as text (mirrored)
    rollups_min_rows: int = 200_000  # a long window with fewer rows is read raw: exact, and as fast
    live_writer: bool = False  # set by `demo --live`, never from the file

    def model(self, name: str) -> ModelConfig:
        return self.models.get(name) or ModelConfig(name=name)

    def environment(self, name: str) -> Environment:
        return self.environments.get(name) or Environment(name=name, production=(name == "production"))

    def known_environment(self, name: str) -> Environment:
        """The environment configured under exactly `name` (no [environments]: only "production");
        anything else raises ConfigError naming the known ones, so a misspelling never reaches a gate."""
        known = self.environments or {"production": Environment(name="production", production=True)}
        if name in known:
            return known[name]
        raise ConfigError("environment", f"unknown environment {name!r}; known: {', '.join(sorted(known))}")

    @property
    def has_logs(self) -> bool:
        return bool(self.logs)

    @property
    def partial_line_grace(self) -> str:
        """`[ingest] partial_line_grace` (the store reads it by this name)."""
        return self.ingest.partial_line_grace

    @property
    def future_tolerance(self) -> str:
        return self.ingest.future_tolerance


def window_seconds(text: str) -> float:
    """A config duration ("30s", "5m") in seconds; here, not in analytics, so the store can read it without
    reaching up a layer."""
    m = re.match(r"^\s*(\d+)\s*([smhdw])\s*$", text)
    if not m:
        raise ValueError(f"expected a window such as 30s, 5m or 1h, got {text!r}")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


# --------------------------------------------------------------------------- the file's schema

_Window = Annotated[str, Meta(pattern=_WINDOW, description="a window such as 5m, 1h, 6h, 24h or 7d")]
_Strings = Annotated[tuple[str, ...], Meta(description="a list of strings")]


class _Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class _WorkspaceFile(_Table):
    name: str | None = None


class _RegistryFile(_Table):
    tracking_uri: str = ""


class _ConsoleFile(_Table):
    refresh_seconds: Annotated[float, Meta(ge=0.2, le=86400.0)] = 5.0  # inf: the TUI never refreshed
    read_only: bool = False
    theme: str = "console-dark"


class _LogFile(_Table):
    kind: Literal["predictions", "labels", "deployments"]
    path: Annotated[str, Meta(min_length=1, description="a path or glob")]
    format: str | None = None
    options: dict[str, Any] = {}
    fields: dict[str, str] = {}


class _EnvironmentFile(_Table):
    production: bool = False
    read_only: bool = False


class _PricesFile(_Table):
    input_per_1m: Annotated[float, Meta(ge=0.0)] = 0.0
    output_per_1m: Annotated[float, Meta(ge=0.0)] = 0.0
    # unset: the input price (a cached token is an input token; unpriced, a cache hit was free)
    cached_per_1m: Annotated[float, Meta(ge=0.0)] | None = None
    replica_hour_usd: Annotated[float, Meta(ge=0.0)] = 0.0
    replicas: Annotated[int, Meta(ge=0)] = 0


class _SloFile(_Table):
    p95_ms: Annotated[float, Meta(ge=0.0)] = 300.0
    error_rate: Annotated[float, Meta(ge=0.0)] = 0.01
    short_window: _Window = "1h"
    long_window: _Window = "6h"


class _DriftColumnFile(_Table):
    test: str | None = None
    threshold: float | None = None
    ignore: bool = False


class _ModelFile(_Table):
    task: Literal["classification", "regression", "llm"] = "classification"
    reference: str | None = None
    features: _Strings = ()
    segments: _Strings = ()
    sensitive: _Strings = ()
    positive_label: Annotated[str | int, Meta(description="a string or integer")] = "1"
    budget_usd_month: Annotated[float, Meta(ge=0.0)] | None = None
    prices: _PricesFile = msgspec.field(default_factory=_PricesFile)
    slo: _SloFile = msgspec.field(default_factory=_SloFile)
    drift: dict[str, dict[str, Any]] = {}  # per column, checked one by one so errors name the column


class _WebhookFile(_Table):
    url: str | None = None
    headers: dict[str, Any] = {}
    command: _Strings = ()
    timeout_s: Annotated[float, Meta(ge=0.1)] = 10.0
    retries: Annotated[int, Meta(ge=0)] = 3
    deadline_s: Annotated[float, Meta(ge=0.1)] = 15.0
    idempotent: bool = False


class _WebhooksFile(_Table):
    deploy: _WebhookFile | None = None
    retrain: _WebhookFile | None = None


class _AlertFile(_Table):
    metric: Annotated[str, Meta(description="a metric name such as \"p95_ms\" or \"drift_share\"")]
    threshold: Annotated[float, Meta(description="a number")]
    name: str | None = None
    op: Literal[">", ">=", "<", "<="] = ">"
    model: str | None = None
    feature: str | None = None
    window: _Window = "1h"
    severity: Literal["info", "warning", "critical"] = "warning"


class _ThresholdsFile(_Table):
    drift_share: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.5  # a share: above 1 the rule could never fire


class _RolloutFile(_Table):
    canary_steps: Annotated[tuple[int, ...], Meta(description="a list of percentages")] = (10, 25, 50, 100)


class _PathFile(_Table):
    path: str | None = None


class _RollupsFile(_Table):
    path: str | None = None
    min_rows: Annotated[int, Meta(ge=0)] = 200_000


class _AuditFile(_Table):
    path: str | None = None
    sink: str | None = None  # "http(s)://..." or "syslog" / "syslog://host:port"


class _RetrainFile(_Table):
    auto_retrain: bool = False


class _IngestFile(_Table):
    partial_line_grace: _Window = "30s"
    future_tolerance: _Window = "5m"


class _S3File(_Table):
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    profile: str | None = None


class _RoleFile(_Table):
    """A `[roles.NAME]` table, checked as the file is loaded: a typo (`user` for `users`) was said only when an
    action was refused. A key left out is not set (actions and environments then match all)."""
    users: list[str] | None = None  # TOML has no null: None is a key left out
    groups: list[str] | None = None
    actions: list[str] | None = None
    environments: list[str] | None = None


ROLE_KEYS = frozenset(_RoleFile.__struct_fields__)


class _StorageFile(_Table):
    s3: _S3File = msgspec.field(default_factory=_S3File)


class _File(_Table):
    workspace: _WorkspaceFile = msgspec.field(default_factory=_WorkspaceFile)
    registry: _RegistryFile = msgspec.field(default_factory=_RegistryFile)
    console: _ConsoleFile = msgspec.field(default_factory=_ConsoleFile)
    logs: Annotated[list[_LogFile], Meta(description="an array of tables ([[logs]])")] = []
    environments: dict[str, Any] = {}
    models: dict[str, Any] = {}
    thresholds: _ThresholdsFile = msgspec.field(default_factory=_ThresholdsFile)
    rollout: _RolloutFile = msgspec.field(default_factory=_RolloutFile)
    webhooks: _WebhooksFile = msgspec.field(default_factory=_WebhooksFile)
    audit: _AuditFile = msgspec.field(default_factory=_AuditFile)
    roles: dict[str, Any] = {}  # each checked as a `_RoleFile`, named by its own key
    keys: dict[str, Any] = {}
    alerts: Annotated[list[_AlertFile], Meta(description="an array of tables ([[alerts]])")] = []
    retrain: _RetrainFile = msgspec.field(default_factory=_RetrainFile)
    store: _PathFile = msgspec.field(default_factory=_PathFile)
    ingest: _IngestFile = msgspec.field(default_factory=_IngestFile)
    storage: _StorageFile = msgspec.field(default_factory=_StorageFile)
    rollups: _RollupsFile = msgspec.field(default_factory=_RollupsFile)


# --------------------------------------------------------------------------- msgspec errors, in our words

_MESSAGE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _convert(data: Any, schema: type, key: str) -> Any:
    try:
        return msgspec.convert(data, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise _problem(str(exc), data, schema, key) from None


def _problem(message: str, data: Any, schema: type, prefix: str) -> ConfigError:
    m = _MESSAGE.match(message)
    what, path = m.group("what"), m.group("path") or ""
    parts: list[str | int] = [s or int(i) for s, i in _SEGMENT.findall(path)]
    missing = re.match(r"Object missing required field `(.+)`", what)
    unknown = re.match(r"Object contains unknown field `(.+)`", what)
    if missing or unknown:
        parent = _walk(schema, parts)
        parts.append((missing or unknown).group(1))
    key = _key(prefix, parts)
    if unknown:
        allowed = sorted(f.name for f in msgspec.structs.fields(_bare(parent)))
        return ConfigError(key, f"unknown key; expected one of {', '.join(allowed)}")
    expected = _expected(_walk(schema, parts))
    if missing:
        return ConfigError(key, f"expected {expected}")
    value = _lookup(data, parts)
    return ConfigError(key, f"expected {expected}, got {_kind(value)}")


def _role(table: Any, name: str) -> dict[str, list[str]]:
    role = _convert(table, _RoleFile, f"roles.{name}")
    return {k: list(getattr(role, k)) for k in role.__struct_fields__ if getattr(role, k) is not None}


def _key(prefix: str, parts: list[str | int]) -> str:
    out = prefix
    for p in parts:
        out = f"{out}[{p}]" if isinstance(p, int) else (f"{out}.{p}" if out else p)
    return out


def _bare(tp: Any) -> Any:
    """The type without Annotated and without `| None`."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _walk(tp: Any, parts: list[str | int]) -> Any:
    for p in parts:
        bare = _bare(tp)
        if isinstance(bare, type) and issubclass(bare, msgspec.Struct):
            hints = typing.get_type_hints(bare, include_extras=True)
            tp = hints.get(str(p), Any)
        elif typing.get_origin(bare) in (list, tuple):
            tp = typing.get_args(bare)[0]
        elif typing.get_origin(bare) is dict:
            tp = typing.get_args(bare)[1]
        else:
            return Any
    return tp


def _expected(tp: Any) -> str:
    metas = [a for a in typing.get_args(tp)[1:] if isinstance(a, Meta)] if typing.get_origin(tp) is Annotated else []
    for meta in metas:
        if meta.description:
            return meta.description
    bare = _bare(tp)
    bound = _bounds(metas)
    if bare in (float, int) and not bound:
        # a bound can sit on an inner Annotated (Annotated[float, Meta(ge=0)] | None)
        inner = [a for a in typing.get_args(tp) if typing.get_origin(a) is Annotated]
        bound = next((b for a in inner if (b := _bounds([m for m in typing.get_args(a)[1:] if isinstance(m, Meta)]))),
                     "")
    if bare is float:
        return "a number" + bound
    if bare is int:
        return "a whole number" + bound
    if bare is bool:
        return "true or false"
    if bare is str:
        return "a string"
    if typing.get_origin(bare) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(bare))
    if typing.get_origin(bare) in (list, tuple):
        inner = _bare(typing.get_args(bare)[0])
        return "a list of strings" if inner is str else "a list"
    return "a table"


def _bounds(metas: list) -> str:
    """A number's bounds as a config error says them: " > 0 and <= 1" (a share above 1 said only "expected a
    number, got a number (5.0)")."""
    said = [f"{op} {getattr(m, name)}" for m in metas for name, op in (("gt", ">"), ("ge", ">="), ("lt", "<"),
                                                                     ("le", "<=")) if getattr(m, name, None) is not None]
    return (" " + " and ".join(said)) if said else ""


def _lookup(data: Any, parts: list[str | int]) -> Any:
    for p in parts:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, (dict, list)) \
        else names[type(value)]


# --------------------------------------------------------------------------- finding the file


def find_config_file(explicit: str | os.PathLike | None, cwd: Path | None = None) -> Path | None:
    """--config, else $MLOPS_CONSOLE_CONFIG, else ./mlops-console.toml, else the XDG file."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError("--config", f"{'a folder, not a file' if path.is_dir() else 'no such file'}: {path}")
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(ENV_VAR, f"{'a folder, not a file' if path.is_dir() else 'no such file'}: {path}")
        return path
    local = (cwd or Path.cwd()) / "mlops-console.toml"
    if local.is_file():
        return local
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "mlops-console" / "config.toml"
    return user if user.is_file() else None


def load(explicit: str | os.PathLike | None = None, registry: str | None = None,
         read_only: bool = False, cwd: Path | None = None) -> Config:
    """The configuration the CLI runs with; `registry` and `read_only` are command-line overrides.

    Unlike `parse_file`, this also checks the files the config names (references and their columns).
    """
    path = find_config_file(explicit, cwd)
    if path is None:
        uri = registry or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise ConfigError(
                "config", "no configuration found: pass --config PATH or --registry URI, "
                "or run `mlops-console demo`")
        return Config(source=None, root=(cwd or Path.cwd()), workspace=_workspace_of(uri),
                      tracking_uri=uri, read_only=read_only)
    cfg = parse_file(path)
    try:
        check_files(cfg)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, path) from None
    changes: dict[str, Any] = {}
    if registry:
        changes["tracking_uri"] = registry
    if read_only:
        changes["read_only"] = True
    return replace(cfg, **changes) if changes else cfg


def _workspace_of(uri: str) -> str:
    """A name for a config-less workspace: the URI's last path part, or its host; never its credentials."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "default"
    if parts.netloc and not parts.path.strip("/"):
        return parts.hostname or "default"
    return (parts.path if parts.netloc or parts.scheme else uri).rstrip("/").rsplit("/", 1)[-1] or "default"


# --------------------------------------------------------------------------- parsing


def parse_file(path: str | os.PathLike) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")  # a Windows editor's BOM, as the logs take it
    except OSError as exc:
        raise ConfigError("config", f"cannot read the file ({exc.strerror})", path) from None
    except UnicodeDecodeError:
        raise ConfigError("config", "not UTF-8 text", path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"not valid TOML: {exc}", path) from None
    try:
        return parse(data, root=path.resolve().parent, source=path)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, path) from None


def _expand(value: str, key: str, lazy: bool = False) -> str | Secret:
    """`${VAR}` pulls a secret from the environment; unset is an error now, or when revealed if lazy."""
    if "${" not in value:
        return value
    if lazy:
        return Secret.lazy(value, key)
    return Secret(_substitute(value, key))


def _rollups(root: Path, value: str) -> Path | str:
    """The rollup folder: an s3:// URL stays a URL (rollup_remote mirrors it), anything else a local path."""
    out = _path(root, value)
    return out if "://" in out else Path(out)


def _path(root: Path, value: str, key: str | None = None) -> str:
    if "://" in value:  # s3://bucket/..., a URL: not a local path
        return value
    if key is not None and "${" in value:  # an unset one names itself (it was used literally: a log gone unsaid)
        value = _substitute(value, key)
    p = Path(os.path.expandvars(value)).expanduser()
    return str(p if p.is_absolute() else root / p)


def parse(data: dict, root: Path, source: Path | None = None) -> Config:
    """The checked configuration from a TOML document; files it names are not opened (see check_files)."""
    f: _File = _convert(data, _File, "")
    uri = f.registry.tracking_uri
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + _path(root, uri[len("sqlite:///"):])

    logs = []
    for i, item in enumerate(f.logs):
        if item.format is not None and item.format not in LOG_FORMATS:
            raise ConfigError(f"logs[{i}].format",
                              f"expected one of {', '.join(LOG_FORMATS)}, got {item.format!r}")
        # an Iceberg log's path is a table identifier in its catalog (`ml.preds`), not a file
        path = item.path if item.format == "iceberg" else _path(root, item.path, f"logs[{i}].path")
        logs.append(LogSource(kind=item.kind, path=path, format=item.format,
                              options=dict(item.options), fields=_fields(item, f"logs[{i}].fields")))

    envs = {name: _environment(name, value) for name, value in f.environments.items()}
    models = {name: _model(name, value, root) for name, value in f.models.items()}

    steps = f.rollout.canary_steps
    if not steps or not all(0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise ConfigError("rollout.canary_steps", "expected increasing whole percentages between 1 and 100")

    hooks = {name: _webhook(getattr(f.webhooks, name), f"webhooks.{name}")
             for name in ("deploy", "retrain") if getattr(f.webhooks, name) is not None}
    alerts = tuple(_alert(rule, f"alerts[{i}]") for i, rule in enumerate(f.alerts))
    s3 = f.storage.s3
    sink = f.audit.sink
    # its scheme as written (a `${VAR}` may hold the rest): an `ftp://` sink was accepted and each action warned
    # twice that the copy was not taken
    if sink is not None and not (sink in ("syslog",) or sink.startswith(("http://", "https://", "syslog://", "${"))):
        raise ConfigError("audit.sink", f"expected http(s)://..., syslog or syslog://host:port, got "
                                        f"{sink.split('://', 1)[0] + '://...' if '://' in sink else repr(sink)}")
    return Config(
        source=source, root=root, workspace=f.workspace.name or root.name,
        tracking_uri=_expand(uri, "registry.tracking_uri", lazy=True),
        refresh_seconds=f.console.refresh_seconds, read_only=f.console.read_only, theme=f.console.theme,
        logs=tuple(logs), environments=envs, models=models, drift_share=f.thresholds.drift_share,
        canary_steps=tuple(steps), webhooks=hooks,
        audit_path=Path(_path(root, f.audit.path)) if f.audit.path else None, audit_sink=_expand(f.audit.sink, "audit.sink", lazy=True) if f.audit.sink else None,
        roles={name: _role(value, name) for name, value in f.roles.items()}, keys=_keys(data.get("keys", {})),
        alerts=alerts, auto_retrain=f.retrain.auto_retrain,
        store_path=Path(_path(root, f.store.path)) if f.store.path else None,
        ingest=Ingest(partial_line_grace=f.ingest.partial_line_grace, future_tolerance=f.ingest.future_tolerance),
        s3=S3Storage(**{name: _expand(getattr(s3, name), f"storage.s3.{name}", lazy=True)
                        if getattr(s3, name) is not None else None
                        for name in ("endpoint_url", "region", "access_key_id", "secret_access_key", "profile")}),
        rollups_path=_rollups(root, f.rollups.path) if f.rollups.path else None,
        rollups_min_rows=f.rollups.min_rows,
    )


def _fields(item: _LogFile, key: str) -> tuple[tuple[str, str], ...]:
    """`[logs.fields]`: contract field -> the log's own column name. Read by the store's parser of the log's own
    JSONL and CSV, and by the views over Parquet logs (local or in S3) and Delta or Iceberg tables read in place
    (vendor formats map their fields in their readers)."""
    if not item.fields:
        return ()
    if item.format not in ("jsonl", "csv", "parquet", "delta", "iceberg"):
        own = f" (format {item.format!r} is read by its own reader, which names the fields)" if item.format else ""
        raise ConfigError(key, 'applies to logs of the contract\'s shape: set `format = "jsonl"`, `"csv"`, '
                          f'`"parquet"`, `"delta"` or `"iceberg"` on this entry{own}')
    known = mappable(item.kind)
    for name, column in item.fields.items():
        if name not in known:
            raise ConfigError(f"{key}.{name}", f"not a field of {item.kind}: expected one of {', '.join(known)}")
        if not column or column in PROVENANCE_FIELDS:
            raise ConfigError(f"{key}.{name}", f"expected a column name other than {' and '.join(PROVENANCE_FIELDS)} "
                              f"(the store's own), got {column!r}")
    named = list(item.fields.values())
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ConfigError(key, f"column {twice[0]!r} is named for more than one field")
    return tuple(sorted(item.fields.items()))


def _keys(table: dict) -> dict[str, str]:
    for name, value in table.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"keys.{name}", f"expected a key name such as \"r\" or \"f5\", got {_kind(value)}")
        if any(unicodedata.category(c) in _NO_KEY for c in value):  # no key types it; the footer drew it raw
            raise ConfigError(f"keys.{name}", f"expected a key name such as \"r\" or \"f5\", got {value!r}, "
                                              "which holds a control or invisible character")
    return dict(table)


_NO_KEY = {"Cc", "Cf", "Zl", "Zp"}  # controls (C0, C1), format (bidi, zero-width), line and paragraph separators


def _environment(name: str, value: Any) -> Environment:
    t: _EnvironmentFile = _convert(value, _EnvironmentFile, f"environments.{name}")
    return Environment(name=name, production=t.production, read_only=t.read_only)


def _model(name: str, value: Any, root: Path) -> ModelConfig:
    key = f"models.{name}"
    t: _ModelFile = _convert(value, _ModelFile, key)
    columns = {}
    for col, override in t.drift.items():
        ckey = f"{key}.drift.{col}"
        c: _DriftColumnFile = _convert(override, _DriftColumnFile, ckey)
        if c.test is not None and _drift_test(c.test) is None:
            raise ConfigError(f"{ckey}.test", f"expected one of {', '.join(DRIFT_TESTS)}, got {c.test!r}")
        if t.features and col not in t.features:
            raise ConfigError(ckey, f"{col!r} is not a feature of {name}; expected one of {', '.join(t.features)}")
        if not t.features and t.reference is None:
            raise ConfigError(ckey, f"{col!r} is not a feature: {name} lists no features and no reference")
        columns[col] = {k: v for k, v in (("test", c.test), ("threshold", c.threshold)) if v is not None} \
            | ({"ignore": True} if c.ignore else {})
    p, s = t.prices, t.slo
    return ModelConfig(
        name=name, task=t.task, reference=Path(_path(root, t.reference)) if t.reference else None,
        features=t.features, segments=t.segments, sensitive=t.sensitive, positive_label=str(t.positive_label),
        budget_usd_month=t.budget_usd_month,
        prices=Prices(input_per_1m=p.input_per_1m, output_per_1m=p.output_per_1m,
                      cached_per_1m=p.input_per_1m if p.cached_per_1m is None else p.cached_per_1m,
                      replica_hour_usd=p.replica_hour_usd, replicas=p.replicas),
        slo=Slo(p95_ms=s.p95_ms, error_rate=s.error_rate, short_window=s.short_window, long_window=s.long_window),
        drift_columns=columns,
    )


def _drift_test(name: str) -> str | None:
    key = name.strip().lower()
    key = DRIFT_TEST_ALIASES.get(key, key)
    return key if key in DRIFT_TESTS else None


def _webhook(t: _WebhookFile, key: str) -> Webhook:
    # a table that names no hook (`url = ""`, `command = []`, only `timeout_s`) read as "no hook configured":
    # a promotion moved production's alias without calling the deploy system, exit 0
    if t.url is not None and not t.url.strip():
        raise ConfigError(f"{key}.url", "is empty: give the hook's URL, or a command, or leave the table out")
    if t.url is None and not t.command:
        raise ConfigError(key, "names no hook: give a url or a command (leave the table out for none)")
    if t.url is not None and t.command:
        raise ConfigError(key, "gives both a url and a command: give one (only the URL was called)")
    headers = {}
    for name, value in t.headers.items():
        if not isinstance(value, str):
            raise ConfigError(f"{key}.headers.{name}", f"expected a string, got {_kind(value)}")
        headers[name] = _expand(value, f"{key}.headers.{name}", lazy=True)
    return Webhook(url=_expand(t.url, f"{key}.url", lazy=True) if t.url else None, headers=headers, command=t.command,
                   timeout_s=t.timeout_s, retries=t.retries, deadline_s=t.deadline_s, idempotent=t.idempotent)


def _alert(t: _AlertFile, key: str) -> AlertRule:
    if not math.isfinite(t.threshold):  # nan never breaches: the rule vanished, not even listed by `check --all`
        raise ConfigError(f"{key}.threshold", f"expected a finite number, got {t.threshold}")
    if t.metric not in ALERT_METRICS:
        raise ConfigError(f"{key}.metric", f"expected one of {', '.join(ALERT_METRICS)}, got {t.metric!r}")
    if t.feature is not None and t.metric != "feature_drift":
        raise ConfigError(f"{key}.feature", f"applies to metric \"feature_drift\" only, not {t.metric!r}")
    if t.feature is not None:  # its value is 1 when the feature drifted, 0 when not: both must not read alike
        on_drift, on_calm = (OPS[t.op](v, t.threshold) for v in (1.0, 0.0))
        if on_drift == on_calm or not on_drift:
            said = "would fire whether or not it drifted" if on_calm and on_drift else \
                "would fire only when it did not drift" if on_calm else "could never fire"
            raise ConfigError(f"{key}.threshold", f"a feature_drift rule on one feature is 1 when "
                              f"{t.feature!r} drifted and 0 when not: {t.op} {t.threshold:g} {said}; "
                              f"write op = \">=\" and threshold = 1")
    return AlertRule(name=t.name or t.metric, metric=t.metric, op=t.op, threshold=t.threshold, model=t.model,
                     feature=t.feature, window=t.window, severity=t.severity)


# --------------------------------------------------------------------------- files the config names


def check_files(cfg: Config) -> None:
    """Each model's reference exists and holds its features and drift overrides (ConfigError otherwise).

    Reads only a reference's schema (Parquet footer or CSV header), never its rows.
    """
    for name, mc in cfg.models.items():
        key = f"models.{name}"
        if mc.reference is None:
            continue
        if not mc.reference.is_file():
            raise ConfigError(f"{key}.reference", f"expected an existing Parquet or CSV file, "
                              f"{'a folder' if mc.reference.is_dir() else 'no such file'}: {mc.reference}")
        try:
            columns = _reference_columns(mc.reference)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{key}.reference", f"expected a readable Parquet or CSV file ({exc})") from None
        missing = [f for f in mc.features if f not in columns]
        if missing:
            raise ConfigError(f"{key}.features", f"{', '.join(missing)} not in the reference {mc.reference.name}; "
                                                 f"expected columns of it ({', '.join(columns)})")
        features = mc.features or tuple(c for c in columns if c not in NON_FEATURE_COLUMNS)
        for col in mc.drift_columns:
            if col not in features:
                raise ConfigError(f"{key}.drift.{col}",
                                  f"{col!r} is not a feature of {name}; expected one of {', '.join(features)}")


def _reference_columns(path: Path) -> tuple[str, ...]:
    if path.suffix.lower() in (".parquet", ".pq"):
        from console.parquet_names import names

        plain = names(path)  # the footer read without PyArrow (its import is most of a kept answer's time)
        if plain is not None:
            return plain
        import pyarrow.parquet as pq
        try:
            return tuple(pq.read_schema(path).names)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises its own types for a bad file
            raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    with path.open(newline="", encoding="utf-8-sig") as fh:  # split as its header says (a log's rule)
        return tuple(fields_of(fh.readline().rstrip("\r\n")))
