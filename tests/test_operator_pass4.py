"""An operator's fourth pass (issues 8 and 9): gaps found by running the installed command on hand-written
workspaces, each checked against what the test wrote (hand counts).

- `check --at T` with T before the first row printed "0 firing" and exited 0 (`nothing_to_evaluate: false`),
  with no rule listed even under `--all`: a cron gate pointed at the wrong time read it as "all clear". The
  README's table says exit 1 when there is nothing to evaluate, and says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import START, _cli, _workspace  # noqa: E402


def test_check_before_the_first_row_has_nothing_to_evaluate(tmp_path):
    cfg, rows, _ = _workspace(tmp_path)
    assert rows["ts"].min() > START.replace(tzinfo=None)  # the log starts on 2026-06-10
    for args in (("--at", "2026-05-01"), ("--at", "2026-06-01T12:00Z", "--since", "2026-05-20")):
        res = _cli(cfg, "check", *args, "--format", "json")
        assert res.returncode == 1, (args, res.returncode, res.stderr)
        out = json.loads(res.stdout)
        assert out["nothing_to_evaluate"] is True and out["firing"] == 0, (args, out)
        assert "nothing to evaluate" in res.stderr, res.stderr
    # inside the log the same gate evaluates: something to evaluate, whatever fires
    res = _cli(cfg, "check", "--at", "2026-07-01", "--format", "json")
    assert res.returncode in (0, 1) and json.loads(res.stdout)["nothing_to_evaluate"] is False, res.stderr
