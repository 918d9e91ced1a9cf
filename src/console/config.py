"""The console's one TOML file, loaded into frozen dataclasses.

Every mistake becomes a `ConfigError` naming the key and what was expected, so the CLI can print
one line and exit 2 instead of a traceback. Secrets come from `${VAR}` and never print.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "MLOPS_CONSOLE_CONFIG"
LOG_KINDS = ("predictions", "labels", "deployments")
LOG_FORMATS = ("jsonl", "csv", "parquet")
TASKS = ("classification", "regression", "llm")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A configuration mistake, phrased for the operator: `key: expected X, got Y`."""

    def __init__(self, key: str, message: str, source: Path | None = None):
        self.key, self.message, self.source = key, message, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}")


class Secret:
    """A value pulled from the environment; shows as *** wherever it is printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = lambda self: "***"  # noqa: E731

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class LazySecret(Secret):
    """A `${VAR}` value resolved when used, not at load: an unset variable only fails the command that
    needs it (a webhook header blocks the promote that calls the hook, not `audit verify` or `snapshot`)."""

    __slots__ = ("_template", "_key")

    def __init__(self, template: str, key: str):
        super().__init__("")
        self._template, self._key = template, key

    def reveal(self) -> str:
        def sub(m: re.Match) -> str:
            if m.group(1) not in os.environ:
                raise ConfigError(self._key, f"environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]
        return _VAR.sub(sub, self._template)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazySecret) and (other._template, other._key) == (self._template, self._key)

    def __hash__(self) -> int:
        return hash(self._template)


def reveal(value: str | Secret) -> str:
    """The real value; a `LazySecret` whose variable is unset raises ConfigError naming the key."""
    return value.reveal() if isinstance(value, Secret) else value


@dataclass(frozen=True)
class LogSource:
    kind: str
    path: str  # a path or a glob, absolute after loading
    format: str | None = None  # None: from each file's extension


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
    audit_sink: str | None = None  # "http(s)://..." or "syslog" / "syslog://host:port": a copy of each record
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    alerts: tuple[AlertRule, ...] = ()
    auto_retrain: bool = False
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


# --------------------------------------------------------------------------- finding the file


def find_config_file(explicit: str | os.PathLike | None, cwd: Path | None = None) -> Path | None:
    """--config, else $MLOPS_CONSOLE_CONFIG, else ./mlops-console.toml, else the XDG file."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError("--config", f"no such file: {path}")
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(ENV_VAR, f"no such file: {path}")
        return path
    local = (cwd or Path.cwd()) / "mlops-console.toml"
    if local.is_file():
        return local
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "mlops-console" / "config.toml"
    return user if user.is_file() else None


def load(explicit: str | os.PathLike | None = None, registry: str | None = None,
         read_only: bool = False, cwd: Path | None = None) -> Config:
    """The configuration the CLI runs with; `registry` and `read_only` are command-line overrides."""
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
    changes: dict[str, Any] = {}
    if registry:
        changes["tracking_uri"] = registry
    if read_only:
        changes["read_only"] = True
    return _replace(cfg, **changes) if changes else cfg


def _replace(cfg: Config, **changes: Any) -> Config:
    from dataclasses import replace
    return replace(cfg, **changes)


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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read the file ({exc.strerror})", path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"not valid TOML: {exc}", path) from None
    try:
        return parse(data, root=path.resolve().parent, source=path)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, path) from None


class _Table:
    """A TOML table with typed getters that name the full key in their errors."""

    def __init__(self, data: Any, key: str):
        if not isinstance(data, dict):
            raise ConfigError(key, f"expected a table, got {_kind(data)}")
        self.data, self.key = data, key

    def _k(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def get(self, name: str, types: type | tuple[type, ...], default: Any, expected: str) -> Any:
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise ConfigError(self._k(name), f"expected {expected}, got {_kind(value)}")
        if not isinstance(value, types):
            raise ConfigError(self._k(name), f"expected {expected}, got {_kind(value)}")
        return value

    def str(self, name: str, default: Any = None) -> Any:
        return self.get(name, str, default, "a string")

    def bool(self, name: str, default: bool = False) -> bool:
        return self.get(name, bool, default, "true or false")

    def num(self, name: str, default: Any = None, minimum: float | None = None) -> Any:
        value = self.get(name, (int, float), default, "a number")
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(self._k(name), f"expected a number >= {minimum}, got {value}")
        return float(value) if value is not None else None

    def strs(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [], "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(self._k(name), "expected a list of strings")
        return tuple(value)

    def table(self, name: str) -> _Table:
        return _Table(self.data.get(name, {}), self._k(name))

    def check_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise ConfigError(self._k(name), f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, (dict, list)) \
        else names[type(value)]


def _expand(value: str, key: str, lazy: bool = False) -> str | Secret:
    """`${VAR}` pulls a secret from the environment; a missing variable is a config error (when used, if lazy)."""
    if "${" not in value:
        return value
    if lazy:
        return LazySecret(value, key)

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(key, f"environment variable {name} is not set")
        return os.environ[name]

    return Secret(_VAR.sub(sub, value))


def _path(root: Path, value: str) -> str:
    p = Path(os.path.expandvars(value)).expanduser()
    return str(p if p.is_absolute() else root / p)


_TOP = {"workspace", "registry", "console", "logs", "environments", "models", "thresholds",
        "rollout", "webhooks", "audit", "roles", "keys", "alerts", "retrain"}


def parse(data: dict, root: Path, source: Path | None = None) -> Config:
    top = _Table(data, "")
    top.check_keys(_TOP)
    ws = top.table("workspace")
    ws.check_keys({"name"})
    reg = top.table("registry")
    reg.check_keys({"tracking_uri"})
    uri = reg.str("tracking_uri", "")
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + _path(root, uri[len("sqlite:///"):])
    con = top.table("console")
    con.check_keys({"refresh_seconds", "read_only", "theme"})

    logs = []
    raw_logs = top.get("logs", list, [], "an array of tables ([[logs]])")
    for i, item in enumerate(raw_logs):
        t = _Table(item, f"logs[{i}]")
        t.check_keys({"kind", "path", "format"})
        kind = t.str("kind")
        if kind not in LOG_KINDS:
            raise ConfigError(t._k("kind"), f"expected one of {', '.join(LOG_KINDS)}, got {kind!r}")
        path = t.str("path")
        if not path:
            raise ConfigError(t._k("path"), "expected a path or glob")
        fmt = t.str("format")
        if fmt is not None and fmt not in LOG_FORMATS:
            raise ConfigError(t._k("format"), f"expected one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
        logs.append(LogSource(kind=kind, path=_path(root, path), format=fmt))

    envs = {}
    env_t = top.table("environments")
    for name in env_t.data:
        t = env_t.table(name)
        t.check_keys({"production", "read_only"})
        envs[name] = Environment(name=name, production=t.bool("production"), read_only=t.bool("read_only"))

    models = {}
    models_t = top.table("models")
    for name in models_t.data:
        models[name] = _model(models_t.table(name), name, root)

    thr = top.table("thresholds")
    thr.check_keys({"drift_share"})
    drift_share = thr.num("drift_share", 0.5, minimum=0.0)
    rollout = top.table("rollout")
    rollout.check_keys({"canary_steps"})
    steps = rollout.get("canary_steps", list, [10, 25, 50, 100], "a list of percentages")
    if not steps or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 100 for s in steps) \
            or list(steps) != sorted(steps):
        raise ConfigError("rollout.canary_steps", "expected increasing whole percentages between 1 and 100")

    hooks = {}
    hooks_t = top.table("webhooks")
    hooks_t.check_keys({"deploy", "retrain"})
    for name in hooks_t.data:
        hooks[name] = _webhook(hooks_t.table(name))

    audit = top.table("audit")
    audit.check_keys({"path", "sink"})
    audit_path = audit.str("path")

    roles_t = top.table("roles")
    roles = {name: dict(roles_t.table(name).data) for name in roles_t.data}
    keys_t = top.table("keys")
    keys = {}
    for name, value in keys_t.data.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"keys.{name}", f"expected a key name such as \"r\" or \"f5\", got {_kind(value)}")
        keys[name] = value

    alerts = []
    for i, item in enumerate(top.get("alerts", list, [], "an array of tables ([[alerts]])")):
        alerts.append(_alert(_Table(item, f"alerts[{i}]")))
    retrain = top.table("retrain")
    retrain.check_keys({"auto_retrain"})

    refresh = con.num("refresh_seconds", 5.0, minimum=0.2)
    return Config(
        source=source, root=root, workspace=ws.str("name", root.name), tracking_uri=_expand(uri, "registry.tracking_uri", lazy=True),
        refresh_seconds=refresh, read_only=con.bool("read_only"), theme=con.str("theme", "console-dark"),
        logs=tuple(logs), environments=envs, models=models, drift_share=drift_share,
        canary_steps=tuple(steps), webhooks=hooks,
        audit_path=Path(_path(root, audit_path)) if audit_path else None, audit_sink=audit.str("sink"),
        roles=roles, keys=keys, alerts=tuple(alerts), auto_retrain=retrain.bool("auto_retrain"),
    )


def _model(t: _Table, name: str, root: Path) -> ModelConfig:
    t.check_keys({"task", "reference", "features", "segments", "sensitive", "positive_label",
                  "budget_usd_month", "prices", "slo", "drift"})
    task = t.str("task", "classification")
    if task not in TASKS:
        raise ConfigError(t._k("task"), f"expected one of {', '.join(TASKS)}, got {task!r}")
    ref = t.str("reference")
    p = t.table("prices")
    p.check_keys({"input_per_1m", "output_per_1m", "cached_per_1m", "replica_hour_usd", "replicas"})
    s = t.table("slo")
    s.check_keys({"p95_ms", "error_rate", "short_window", "long_window"})
    drift = t.table("drift")
    columns = {}
    for col in drift.data:
        c = drift.table(col)
        c.check_keys({"test", "threshold", "ignore"})
        c.bool("ignore")
        columns[col] = dict(c.data)
    return ModelConfig(
        name=name, task=task, reference=Path(_path(root, ref)) if ref else None,
        features=t.strs("features"), segments=t.strs("segments"), sensitive=t.strs("sensitive"),
        positive_label=str(t.get("positive_label", (str, int), "1", "a string or integer")),
        budget_usd_month=t.num("budget_usd_month", None, minimum=0.0),
        prices=Prices(input_per_1m=p.num("input_per_1m", 0.0, 0.0), output_per_1m=p.num("output_per_1m", 0.0, 0.0),
                      cached_per_1m=p.num("cached_per_1m", 0.0, 0.0),
                      replica_hour_usd=p.num("replica_hour_usd", 0.0, 0.0),
                      replicas=int(p.num("replicas", 0, 0))),
        slo=Slo(p95_ms=s.num("p95_ms", 300.0, 0.0), error_rate=s.num("error_rate", 0.01, 0.0),
                short_window=s.str("short_window", "1h"), long_window=s.str("long_window", "6h")),
        drift_columns=columns,
    )


def _webhook(t: _Table) -> Webhook:
    t.check_keys({"url", "headers", "command", "timeout_s", "retries"})
    url = t.str("url")
    headers = {k: _expand(v, f"{t.key}.headers.{k}", lazy=True) if isinstance(v, str)
               else _bad(f"{t.key}.headers.{k}", v) for k, v in t.table("headers").data.items()}
    return Webhook(url=_expand(url, t._k("url"), lazy=True) if url else None, headers=headers, command=t.strs("command"),
                   timeout_s=t.num("timeout_s", 10.0, 0.1), retries=int(t.num("retries", 3, 0)))


def _bad(key: str, value: Any):
    raise ConfigError(key, f"expected a string, got {_kind(value)}")


_OPS = (">", ">=", "<", "<=")


def _alert(t: _Table) -> AlertRule:
    t.check_keys({"name", "metric", "op", "threshold", "model", "feature", "window", "severity"})
    metric = t.str("metric")
    if not metric:
        raise ConfigError(t._k("metric"), "expected a metric name such as \"p95_ms\" or \"drift_share\"")
    op = t.str("op", ">")
    if op not in _OPS:
        raise ConfigError(t._k("op"), f"expected one of {', '.join(_OPS)}, got {op!r}")
    threshold = t.num("threshold")
    if threshold is None:
        raise ConfigError(t._k("threshold"), "expected a number")
    return AlertRule(name=t.str("name", metric), metric=metric, op=op, threshold=threshold,
                     model=t.str("model"), feature=t.str("feature"), window=t.str("window", "1h"),
                     severity=t.str("severity", "warning"))
