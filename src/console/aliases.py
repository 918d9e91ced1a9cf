"""How serving roles map to MLflow aliases, per environment.

MLflow aliases are global to a registered model, so the environment goes into the alias name:
in the production environment the role is the alias (`champion`, `canary`, `shadow`, `blue`,
`green`, `challenger`); elsewhere it is prefixed (`staging-champion`). One rule, used by the demo,
the registry screens and every action.
"""

from __future__ import annotations

ROLES = ("champion", "canary", "shadow", "blue", "green", "challenger")
PRODUCTION = "production"


def alias_name(environment: str, role: str) -> str:
    return role if environment == PRODUCTION else f"{environment}-{role}"


def parse_alias(alias: str) -> tuple[str, str]:
    """(environment, role) of an alias; an alias outside the convention keeps its name as the role."""
    if alias in ROLES:
        return PRODUCTION, alias
    env, sep, role = alias.rpartition("-")
    if sep and role in ROLES and env:
        return env, role
    return PRODUCTION, alias
