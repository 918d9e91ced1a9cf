"""The serving state folded from deployment events: what an operator reads in the LIVE column."""

from console.analytics.serving import fold


def ev(action, version, strategy="direct", pct=100):
    return {"action": action, "version": version, "strategy": strategy, "traffic_pct": pct}


def test_canary_lifecycle():
    s = fold([ev("deploy", "3"), ev("deploy", "4", "canary", 10), ev("canary-step", "4", "canary", 25)])
    assert (s.champion, s.canary, s.canary_pct) == ("3", "4", 25)
    assert s.describe() == "canary v4 25%"
    s = fold([ev("deploy", "3"), ev("deploy", "4", "canary", 10), ev("promote", "4", "canary", 100)])
    assert (s.champion, s.canary) == ("4", None)
    s = fold([ev("deploy", "3"), ev("deploy", "4", "canary", 10), ev("abort", "4", "canary", 0)])
    assert (s.champion, s.canary) == ("3", None)


def test_blue_green_stage_then_switch():
    s = fold([ev("deploy", "4", "blue-green", 100), ev("deploy", "5", "blue-green", 0)])
    assert (s.champion, s.standby) == ("4", "5")  # staged, not serving
    s = fold([ev("deploy", "4", "blue-green", 100), ev("deploy", "5", "blue-green", 0), ev("switch", "5", "blue-green")])
    assert (s.champion, s.standby) == ("5", "4")
    assert s.describe() == "b/g standby v4"


def test_shadow_and_rollback():
    s = fold([ev("deploy", "2"), ev("deploy", "3"), ev("rollback", "2"), ev("shadow-start", "4", "shadow", 100)])
    assert (s.champion, s.shadow) == ("2", "4")
    assert fold([ev("deploy", "2"), ev("shadow-start", "4", "shadow"), ev("shadow-stop", "4", "shadow", 0)]).shadow is None


# --------------------------------------------------------------------------- issue 11: one fold, its invariants

import polars as pl  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from console.analytics.serving import Serving, fold_all, timeline  # noqa: E402


def test_rollback_during_a_canary_ends_the_canary():
    s = fold([ev("deploy", "3"), ev("deploy", "4"), ev("deploy", "5", "canary", 25), ev("rollback", "3")])
    assert (s.champion, s.canary, s.canary_pct) == ("3", None, None)
    assert s.describe() == ""


def test_blue_green_rollback_shows_the_truth():
    events = [ev("deploy", "4", "blue-green", 100), ev("deploy", "5", "blue-green", 0),
              ev("switch", "5", "blue-green"), ev("rollback", "4")]
    s = fold(events)
    assert (s.champion, s.live, dict(s.slots)) == ("4", "blue", {"blue": "4", "green": "5"})
    assert s.standby == "5" and s.describe() == "b/g standby v5"  # never "standby v4" while v4 serves


def test_rollback_target_and_canary_share_for_the_operator():
    s = fold([ev("deploy", "1"), ev("deploy", "2"), ev("promote", "3"), ev("deploy", "4", "canary", 10),
              ev("canary-step", "4", "canary", 50)])
    assert s.previous_champion == "2" and s.canary_pct == 50
    assert s.champion_before("3") == "2" and s.champion_before("2") == "3"


def test_shadow_of_the_new_champion_ends():
    s = fold([ev("deploy", "1"), ev("shadow-start", "2", "shadow"), ev("promote", "2")])
    assert (s.champion, s.shadow) == ("2", None)


def test_events_without_an_environment_are_production_and_can_be_sorted():
    rows = [{"model": "m", "ts": "2026-01-02", "action": "deploy", "version": 2},
            {"model": "m", "ts": "2026-01-01", "action": "deploy", "version": 1, "environment": "staging"},
            {"model": "m", "ts": "2026-01-01", "action": "deploy", "version": 1.0}]
    out = fold_all(rows, ordered=False)
    assert out[("m", "production")].champion == "2" and out[("m", "production")].previous_champion == "1"
    assert out[("m", "staging")].champion == "1"


ACTIONS = st.sampled_from(["deploy", "promote", "rollback", "canary-step", "canary-start", "abort",
                           "canary-abort", "switch", "shadow-start", "shadow-stop", "bogus", None])
STRATEGIES = st.sampled_from(["direct", "canary", "blue-green", "shadow", None])
EVENT = st.fixed_dictionaries({
    "action": ACTIONS, "strategy": STRATEGIES,
    "version": st.one_of(st.none(), st.integers(1, 6), st.sampled_from(["1", "2", "3", "v9"])),
    "traffic_pct": st.one_of(st.none(), st.integers(-5, 120), st.floats(allow_nan=True), st.just("x"))})


def _invariants(s: Serving) -> None:
    assert (s.canary is None) == (s.canary_pct is None)
    assert s.canary_pct is None or 0 < s.canary_pct <= 100
    assert (s.shadow is None) == (s.shadow_pct is None)
    assert s.shadow_pct is None or 0 < s.shadow_pct <= 100
    assert s.champion is None or s.canary != s.champion
    assert s.champion is None or s.shadow != s.champion
    if s.live is not None:
        assert dict(s.slots).get(s.live) == s.champion  # the live slot is the champion
        assert {c for c, _ in s.slots} <= {"blue", "green"}
    assert s.standby is None or (s.standby != s.champion and s.standby in dict(s.slots).values())
    assert s.previous_champion != s.champion or s.previous_champion is None
    assert s.champion not in (s.history[-1:] or (None,)) or s.champion is None
    assert set(s.aliases("production").values()) <= {v for v in (s.champion, s.canary, s.shadow,
                                                                  *dict(s.slots).values()) if v}


@settings(max_examples=400, deadline=None)
@given(st.lists(EVENT, max_size=30))
def test_any_event_sequence_keeps_the_invariants(events):
    s = Serving()
    champions = []
    for e in events:
        before = s
        s = s.apply(e)
        _invariants(s)
        v = None if e["version"] is None else str(e["version"])
        if e["action"] == "rollback" and v is not None:
            assert s.champion == v and s.canary is None  # a rollback ends any canary
        if e["action"] in ("abort", "canary-abort") and not (v is not None and v == before.shadow
                                                             and v != before.canary):
            assert s.canary is None
        if s.champion != before.champion and before.champion is not None:
            assert s.previous_champion == before.champion
        if s.champion is not None and (not champions or champions[-1] != s.champion):
            champions.append(s.champion)
    # the history is exactly the champions that came before, in order
    assert list(s.history) == champions[:-1]
    # the fold is the same whichever way it is run: all at once, step by step, or by the store's grouping
    assert fold(events) == s
    assert (timeline(events)[-1][1] if events else Serving()) == s
    rows = [{**e, "model": "m", "environment": "production"} for e in events]
    assert fold_all(rows).get(("m", "production"), Serving()) == s


def test_the_demo_fleet_and_the_console_share_the_fold():
    from console.demo import fleet as F
    assert F.Serving is Serving
    events = F.deployment_events(F.as_utc(__import__("datetime").datetime(2026, 11, 30, 12)))
    final = F.final_serving(events)
    assert final == {k: v for k, v in fold_all(events, ordered=False).items()
                     if k[0] in F.VERSIONS and k[1] in F.ENVIRONMENTS}
    eta = final[(F.ETA, "production")]
    assert (eta.champion, eta.live, eta.standby) == ("5", "green", "4")


def test_operator_reads_deployment_events_of_every_format(tmp_path, sqlite_uri):
    """A CSV deployment log (deploylog used to skip it) gives the operator its rollback target and canary share."""
    from console.config import parse
    from console.service import Service

    (tmp_path / "logs").mkdir()
    pl.DataFrame({"ts": ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"],
                  "model": ["m", "m", "m"], "version": ["1", "2", "3"], "environment": ["production"] * 3,
                  "strategy": ["direct", "direct", "canary"], "traffic_pct": [100, 100, 20],
                  "action": ["deploy", "deploy", "deploy"], "actor": ["ci"] * 3, "reason": [""] * 3}
                 ).write_csv(tmp_path / "logs" / "deployments.csv")
    cfg = parse({"registry": {"tracking_uri": sqlite_uri},
                 "logs": [{"kind": "deployments", "path": "logs/deployments.csv"}]}, root=tmp_path)
    from datetime import datetime
    svc = Service(cfg, clock=lambda: datetime(2026, 11, 30))
    try:
        s = svc.operator.serving("m", "production")
        assert (s.champion, s.canary, s.canary_pct, s.previous_champion) == ("2", "3", 20, "1")
        assert svc.serving()[("m", "production")] == s
    finally:
        svc.close()


def test_the_last_action_time_is_utc_in_json():
    """`snapshot --format json` printed `serving.last_ts` as "2026-07-07T00:00:00", without the Z every other time
    in JSON carries (probe B, twenty-ninth session)."""
    from datetime import datetime

    s = fold([{**ev("promote", "2"), "ts": datetime(2026, 7, 7)}])
    assert s.to_dict()["last_ts"] == "2026-07-07T00:00:00Z"
