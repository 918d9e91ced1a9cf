"""What a view at a time other than now says: the version that served then (the deployment events up to it), not
the registry's champion now; the SLO verdict the alert rule gives; and, for a view ending after now, silence judged up
to now."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from console.config import parse_file
from console.service import Service
from demo_copy import demo_at
from fixed_time import DEMO_NOW


def test_the_overview_in_the_past_names_the_champion_of_then(tmp_path):
    """support-assistant: v3 deployed on 4 March 06:00 and rolled back to v2 at 22:00 (the demo's deployment log);
    the registry's champion is v2 now. At noon on 4 March the Overview and `snapshot --at` said v2, beside the LIVE
    column that told v3's traffic."""
    config = demo_at(tmp_path / "ws")
    deploys = (config.parent / "logs" / "deployments.jsonl").read_text()
    assert '"ts": "2026-03-04T06:00:00Z", "model": "support-assistant", "version": "3"' in deploys
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        svc.refresh()
        live = {(r.name, r.environment): r for r in svc.snapshot(monitoring=False).rows}
        svc.set_at(datetime(2026, 3, 4, 12, 0))
        then = {(r.name, r.environment): r for r in svc.snapshot(monitoring=False).rows}
    finally:
        svc.close()
    assert live[("support-assistant", "production")].champion == "2"
    assert then[("support-assistant", "production")].champion == "3"


def test_the_slo_alert_on_the_screens_is_the_burn_rate_incident(tmp_path):
    """The demo's latency regression fires the `burn_rate` rule; Health and the model page said "SLO ok" beside it
    (they asked for both windows, the rule for the short one). The model's SLO status is the rule's verdict."""
    config = demo_at(tmp_path / "ws")
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        svc.refresh()
        burning = {f.model for f in svc.findings(max_age_s=0) if f.kind == "burn_rate" and f.firing}
        assert burning, "the demo's latency regression burns the error budget"
        for model in ("fraud-detector", "delivery-eta", "support-assistant"):
            slo = svc.health(model, "24h")["slo"]
            assert slo.alert == (model in burning), (model, slo.burn_rate, burning)
    finally:
        svc.close()


def test_a_view_ending_after_now_judges_silence_up_to_now(tmp_path):
    """`check --window 2026-12` on 4 December ends its view on 31 December: every source was called stale by the rows
    nobody could have logged yet (the TUI's `@ 2027-01-01` likewise). Silence is judged up to now; a clock that
    really moved on finds the sources silent."""
    from datetime import timedelta

    config = demo_at(tmp_path / "ws")
    clock = {"now": DEMO_NOW}
    svc = Service(parse_file(config), clock=lambda: clock["now"])
    try:
        svc.refresh()
        assert not [f for f in svc.findings(max_age_s=0) if f.kind == "stale_minutes" and f.firing]
        svc.set_at(DEMO_NOW + timedelta(days=20))
        assert not [f for f in svc.findings(max_age_s=0) if f.kind == "stale_minutes" and f.firing]
        svc.set_at(None)
        clock["now"] = DEMO_NOW + timedelta(days=20)  # the demo's writer stopped: now they are silent
        assert [f for f in svc.findings(max_age_s=0) if f.kind == "stale_minutes" and f.firing]
    finally:
        svc.close()


def test_a_segment_behind_all_history_is_said_to_have_begun_before_it(tmp_path):
    """The demo's partner_api segment is far worse all week: its onset was the first row of the history, so it moved
    with `--at` (11-26 21:00, then 11-27 12:00). It is now said to have begun before the history, at any `--at`."""
    from datetime import timedelta

    config = demo_at(tmp_path / "ws")
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        svc.refresh()
        seen = []
        for at in (DEMO_NOW, DEMO_NOW - timedelta(hours=15)):
            svc.set_at(at)
            seg = [f for f in svc.findings(max_age_s=0) if f.kind == "segment" and f.firing]
            assert seg, at
            seen.append((seg[0].id, seg[0].onset_before))
    finally:
        svc.close()
    assert seen[0] == seen[1] and seen[0][1] is True


import pytest  # noqa: E402

from console.cli import main  # noqa: E402


@pytest.mark.parametrize("option", [["--at", "0001-01-01T00:00Z"], ["--window", "99999999d"],
                                    ["--window", "9999-12-31"], ["--from", "0001-01-01", "--to", "0001-01-02"]])
def test_a_time_out_of_range_is_one_line_and_a_usage_error(tmp_path, capsys, option):
    """CLI probe, finding 7: these crashed as `OverflowError: date value out of range`, exit 4 (a remote system
    failed), where a bad time option is one line and exit 2."""
    (tmp_path / "p.jsonl").write_text('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "health", "m", *option]) == 2
    err = capsys.readouterr().err
    assert "out of range" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("option", [["--window", "99999999999d"], ["--window", "0001-01"], ["--window", "9999-W52"],
                                    ["--window", "0001-01-01"]])
def test_a_time_out_of_range_names_its_option_and_value(tmp_path, capsys, option):
    """CLI contract probe: `--window 99999999999d` said "a time option is out of range (Python int too large to
    convert to C int)" and `--window 0001-01` "(date value out of range)", naming neither the option nor its
    value, where every bad option names both, in words."""
    (tmp_path / "p.jsonl").write_text('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "health", "m", *option]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{option[0]} {option[1]!r}: out of range" in err and len(err.splitlines()) == 1, err
    assert "Python" not in err and "date value" not in err, err


def test_check_at_a_time_after_now_with_no_row_in_its_history_has_nothing_to_evaluate(tmp_path, capsys):
    """CLI probe, finding 6: `check --at 2027-06-01` (a typo for 2026) said "0 firing" and exited 0 though its
    whole history held no row. It has nothing to evaluate: exit 1, said with the newest row's time."""
    (tmp_path / "p.jsonl").write_text("".join(
        f'{{"ts": "2026-11-30T{h:02d}:00:00Z", "model": "m", "version": "1", "request_id": "r{h}", '
        f'"latency_ms": 5}}\n' for h in range(10)), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "check", "--at", "2099-06-01T00:00Z", "--format", "json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["nothing_to_evaluate"] is True
    assert "nothing to evaluate" in out.err and "newest row is at 2026-11-30 09:00Z" in out.err


def test_check_at_a_time_before_the_first_row_names_the_newest_row(tmp_path, capsys):
    """Probe H (twenty-ninth session): `check --at 2026-01-01` said "nothing to evaluate" without where the rows
    are, where every other read command names the newest row."""
    (tmp_path / "p.jsonl").write_text("".join(
        f'{{"ts": "2026-11-30T{h:02d}:00:00Z", "model": "m", "version": "1", "request_id": "r{h}", '
        f'"latency_ms": 5}}\n' for h in range(10)), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "check", "--at", "2026-01-01T00:00Z"]) == 1
    err = capsys.readouterr().err
    assert "nothing to evaluate" in err and "newest row is at 2026-11-30 09:00Z" in err, err


def test_from_alone_after_the_views_end_names_the_end_it_is_after():
    """Security probe (thirty-first session): `--from 2030-01-01` with no --to said "--from must be before --to"."""
    from console.analytics.windows import resolve_view

    with pytest.raises(ValueError) as err:
        resolve_view(now=datetime(2026, 12, 5, 12), latest=None, start="2030-01-01")
    assert "--from must be before the end of the view (now: 2026-12-05T12:00:00Z)" in str(err.value)
    with pytest.raises(ValueError) as err:
        resolve_view(now=datetime(2026, 12, 5, 12), latest=None, start="2026-12-02", at="2026-12-01")
    assert "(--at: 2026-12-01T00:00:00Z)" in str(err.value)


def test_an_offset_past_a_day_is_said_in_words(tmp_path, capsys):
    """CLI contract probe: `--at 2026-07-04T12:00+99:00` gave Python's own "offset must be a timedelta strictly
    between -timedelta(hours=24) and timedelta(hours=24), not datetime.timedelta(days=4, seconds=10800)"."""
    (tmp_path / "p.jsonl").write_text('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "health", "m", "--at", "2026-07-04T12:00+99:00"]) == 2
    err = capsys.readouterr().err.strip()
    assert "a UTC offset is at most 23:59" in err and "'2026-07-04T12:00+99:00'" in err, err
    assert "timedelta" not in err and len(err.splitlines()) == 1, err
