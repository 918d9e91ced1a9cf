"""The drift reads the Drift screen and the model page share, as worker functions: one definition, so a
result cached for one screen serves the other."""

from __future__ import annotations

import math


def score_or_none(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def drift_report(svc, model: str, window: str, environment: str, series: bool = True,
                 exact: bool | None = None) -> dict:
    """Runs in the worker: the report as plain data (features by severity, and with `series` each feature's
    score per time bucket; no prediction or label drift, which no screen shows). `exact=True`: the raw rows of the window, never the rollups (the x key)."""
    rep = svc.drift(model, window, environment=environment, series=series, exact=exact, target=False)
    out = rep.to_dict()
    out["series"] = rep.trend() if series else {}
    return out


def drift_verdicts(model: str, window: str, environment: str):
    """The fetch of the window's verdicts without the per-bucket series (a third of the work): the Drift
    screen's first phase and the model page's drift panel; one function, so one cached result serves both."""
    return lambda svc: drift_report(svc, model, window, environment, series=False)
