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
