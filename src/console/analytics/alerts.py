"""A rule's operator and the state of one incident's alert.

The rules themselves are evaluated in one place, `incident_rules.RuleEvaluator` (raw rows) and
`rollup_rules` (rollups), over the same windows; this module holds only what both share. (A first-wave
stateless `evaluate`, an `AlertBook` and per-bucket onset series lived here unused, with their own reading of
`feature_drift` as a drift score where the rules read 0 or 1: removed, one rule per signal.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from console.analytics.windows import JsonResult
from console.config import OPS, AlertRule

Key = tuple[str, str, "str | None"]  # (rule name, model, feature)


@dataclass(frozen=True)
class AlertState(JsonResult):
    rule: AlertRule
    model: str
    value: float | None
    firing: bool
    since: datetime | None
    feature: str | None = None

    @property
    def key(self) -> Key:
        return (self.rule.name, self.model, self.feature)


def breaches(op: str, value: float | None, threshold: float) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return OPS[op](value, threshold)
