"""Who may run which action where: the single gate every path (TUI, CLI, automation) goes through.

Read-only mode (global or per environment) refuses every action, dangerous or not, since each one
writes somewhere. Roles then gate dangerous actions only. Roles schema (`[roles.NAME]` tables):

    [roles.operator]
    users = ["alice"]                 # OS user names
    groups = ["mlops"]                # OS groups
    actions = ["promote", "canary-*", "rollback"]   # fnmatch patterns over action ids; default ["*"]
    environments = ["staging", "production"]       # fnmatch patterns; default ["*"]

No `[roles]` table: everyone may run every action. With roles, a dangerous action is allowed when
some role lists the user (by name or group), the action and the environment.

The user is the process's real identity: the account of its uid and the process's groups. USER,
LOGNAME and SUDO_USER are set by whoever starts the process, so they are never what a role is checked
against; SUDO_USER is kept only as information for the audit trail (`audit.actor_fields`).

Environment names must match a configured environment exactly (`Config.known_environment`):
`Production`, `PRODUCTION` or `prod` are refused with a ConfigError naming the known ones.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Iterable

from console.actions.catalog import ActionSpec
from console.aliases import PRODUCTION
from console.config import ROLE_KEYS, Config, ConfigError
from console.safe_text import printable



@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


def real_user_name() -> str:
    """The account of the process's real uid (a uid with no passwd entry is shown as `uid:N`)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def current_user() -> User:
    """Who this process really is: its uid's account and groups; environment variables play no part."""
    name = real_user_name()
    return User(name, groups_of(name, current=True))


def groups_of(name: str, current: bool = False) -> tuple[str, ...]:
    gids: set[int] = set(os.getgroups()) if current else set()
    try:
        gids.add(pwd.getpwnam(name).pw_gid)
    except KeyError:
        pass
    names = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    for gid in gids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return tuple(sorted(names))


def validate_roles(roles: dict[str, Any]) -> None:
    """Raise ConfigError naming the key when a `[roles.NAME]` table is malformed."""
    for name, table in roles.items():
        if not isinstance(table, dict):
            raise ConfigError(f"roles.{name}", "expected a table")
        for key, value in table.items():
            if key not in ROLE_KEYS:
                raise ConfigError(f"roles.{name}.{key}", f"unknown key; expected one of {', '.join(sorted(ROLE_KEYS))}")
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"roles.{name}.{key}", "expected a list of strings")


def _matches(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def _as_user(user: User | str | None) -> User:
    if user is None:
        return current_user()
    if isinstance(user, str):
        return User(user, groups_of(user))
    return user


def read_only_reason(cfg: Config, environment: str) -> str | None:
    if cfg.read_only:
        return "the console is in read-only mode"
    if cfg.known_environment(environment).read_only:
        return f"environment {environment} is read-only"
    return None


def check(spec: ActionSpec, cfg: Config, environment: str, user: User | str | None = None) -> Decision:
    """May `user` run `spec` in `environment`? Raises ConfigError for an unknown environment or a malformed
    roles table."""
    cfg.known_environment(environment)
    ro = read_only_reason(cfg, environment)
    if ro:
        return Decision(False, f"{spec.id} refused: {ro}")
    if not spec.dangerous or not cfg.roles:
        return Decision(True, "allowed")
    validate_roles(cfg.roles)
    who = _as_user(user)
    for name, role in cfg.roles.items():
        member = who.name in role.get("users", []) or bool(set(who.groups) & set(role.get("groups", [])))
        if member and _matches(role.get("actions", ["*"]), spec.id) \
                and _matches(role.get("environments", ["*"]), environment):
            return Decision(True, f"allowed by role {name}")
    return Decision(False, f"{spec.id} refused: user {who.name} has no role allowing it in {environment}")


def needs_typed_confirmation(spec: ActionSpec, cfg: Config, environment: str) -> bool:
    """Dangerous actions in a production environment: the operator types the model's name.

    An environment missing from the config counts as production when it is named "production".
    """
    env = cfg.environments.get(environment)
    return spec.dangerous and (env.production if env else environment == PRODUCTION)


def name_confirmed(typed: str, model: str) -> bool:
    """Whether what the operator typed confirms `model`: its name, or the form the dialog and the CLI's prompt show
    it in (`printable`: ESC as `\\x1b`). A registry name holding a control character could not be confirmed at all:
    the one form shown cannot be typed as the name, and the name cannot be typed as shown."""
    typed = typed.strip()
    return typed == model or typed == printable(model).strip()
