"""Every headless command is a fresh process, and importing is a large part of what it costs: a command must not
import what its code path does not use. Each command runs for real (`console.cli.main`) in a child process over a
small Parquet workspace, and the test looks at the child's `sys.modules` after it: its numbers are checked against a
hand count too, so the command did its reading (not an early exit that would import nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 11, 20, 0, 0)
END = START + timedelta(days=2)

# Never needed by a read: the TUI and its renderer, the exact tests' scipy, the registry client, hooks' HTTP client,
# S3, pandas, pyarrow's datasets (the rollup job's reader), the action operator
NEVER = ("textual", "rich", "scipy", "mlflow", "httpx", "botocore", "boto3", "pandas", "pyarrow.dataset",
         "console.ui", "console.actions.operator", "console.actions.hooks")

RUN = """
import json, sys
from console.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("weight")
    n = 2 * 24 * 30  # one row every 2 minutes for two days
    ts = [START + timedelta(minutes=2 * i, seconds=1) for i in range(n)]
    for day in (0, 1):
        part = [i for i, t in enumerate(ts) if (t - START).days == day]
        folder = root / "logs" / f"date={START + timedelta(days=day):%Y-%m-%d}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({
            "ts": pa.array([ts[i] for i in part], pa.timestamp("us")), "model": ["fraud"] * len(part),
            "version": ["1"] * len(part), "request_id": [f"r{i}" for i in part],
            "latency_ms": [float(10 + i % 50) for i in part], "status": [500 if i % 40 == 0 else 200 for i in part],
            "cost_usd": [0.001] * len(part), "f0": [float(i % 97) for i in part],
            "c0": ["a" if i % 3 else "b" for i in part]}), folder / "part-0.parquet")
    # more than 1,000 reference rows: distance tests (Wasserstein, Jensen-Shannon), which need no scipy; with fewer,
    # the hypothesis tests' p-values import scipy.stats (1.2-1.8 s), as they must
    pq.write_table(pa.table({"f0": [float(i % 89) for i in range(2000)],
                             "c0": ["a" if i % 2 else "b" for i in range(2000)]}), root / "reference.parquet")
    (root / "mlops-console.toml").write_text(
        '[workspace]\nname = "weight"\n\n[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n\n'
        '[models.fraud]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["f0", "c0"]\n')
    return root, ts


def _run(root: Path, *args: str) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", RUN, "--config", str(root / "mlops-console.toml"), *args],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(root / "cache")))
    got = json.loads(proc.stderr.strip().splitlines()[-1])
    return got["rc"], set(got["modules"]), proc.stdout


def _heavy(modules: set[str], names=NEVER) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_reads_import_neither_the_ui_nor_scipy_nor_the_registry_nor_the_operator(workspace):
    root, ts = workspace
    at = END.isoformat()
    rc, modules, out = _run(root, "--at", at, "health", "fraud", "--window", "24h", "--format", "json")
    assert rc == 0 and _heavy(modules) == []
    day = [t for t in ts if END - timedelta(hours=24) < t <= END]  # the hand count of the window
    assert sum(r["requests"] for r in json.loads(out)["table"]) == len(day)
    rc, modules, out = _run(root, "--at", at, "snapshot", "--format", "json")
    assert rc == 0 and _heavy(modules) == []
    assert [(r["name"], r["requests"]) for r in json.loads(out)["models"]] == [("fraud", len(day))]
    rc, modules, out = _run(root, "--at", at, "drift", "fraud", "--window", "24h", "--format", "json")
    assert rc in (0, 1) and _heavy(modules) == []
    assert json.loads(out)["model"] == "fraud"


def test_reading_rollups_back_imports_no_pyarrow_compute(workspace):
    """pyarrow.compute (30-60 ms) serves the rollup builder and the ingest of text logs: a read over built rollups
    of Parquet logs read in place uses neither. A second `health` over 24 h (the first built the rollups)."""
    root, _ = workspace
    at = (END - timedelta(hours=1)).isoformat()
    _run(root, "--at", at, "health", "fraud", "--window", "24h", "--format", "json")
    rc, modules, _ = _run(root, "--at", at, "health", "fraud", "--window", "24h", "--format", "json")
    assert rc == 0 and _heavy(modules, ("pyarrow.compute",)) == []


def test_the_parser_does_not_import_the_actions(workspace):
    """Every command builds the whole parser: the action commands' operator, hooks and registry are imported
    when an action runs, not for `--help` nor for a read."""
    code = ("import sys\nfrom console.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in sys.modules if m.startswith(('console.actions.operator', 'console.actions.audit', "
            "'console.sources.registry', 'polars', 'pyarrow', 'duckdb'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=SRC)).stdout.strip()
    assert out == "[]"


def test_a_kept_answer_over_a_tailed_log_imports_neither_polars_nor_pyarrow(tmp_path):
    """A command asked again with nothing new (a cron `check` between appends; `snapshot` twice) is answered from
    what the store kept for that state of its rows: it needs no parser (Polars) to find the log unchanged and no
    PyArrow to read its segments' footers (DuckDB reads them). Both were imported before, 0.4-0.5 s of the answer's
    1.0 s at 1M rows. The answer is the same, and the first command did import them (it parsed the log)."""
    lines = [json.dumps({"ts": (START + timedelta(minutes=3 * i)).isoformat() + "Z", "model": "fraud", "version": "1",
                         "request_id": f"r{i}", "latency_ms": 10 + i % 40, "status": 500 if i % 50 == 0 else 200,
                         "f0": float(i % 97), "c0": "a" if i % 3 else "b"}) for i in range(900)]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.table({"f0": [float(i % 89) for i in range(2000)],
                             "c0": ["a" if i % 2 else "b" for i in range(2000)]}), tmp_path / "reference.parquet")
    (tmp_path / "mlops-console.toml").write_text(
        '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n\n'
        '[models.fraud]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["f0", "c0"]\n')
    at = (START + timedelta(minutes=3 * 899)).isoformat()
    for command in (["drift", "fraud", "--window", "36h"], ["snapshot"]):  # 720 rows: a verdict needs 500
        rc, first, out = _run(tmp_path, "--at", at, *command, "--format", "json")
        assert rc in (0, 1) and {"polars", "pyarrow"} <= first, command
        rc2, again, out2 = _run(tmp_path, "--at", at, *command, "--format", "json")
        assert (rc2, out2) == (rc, out)
        assert _heavy(again, ("polars", "pyarrow", "numpy")) == [], command
    assert sum(m["requests"] for m in json.loads(out)["models"]) == sum(
        START + timedelta(minutes=3 * 899) - timedelta(hours=24) < START + timedelta(minutes=3 * i) for i in range(900))
    # `check` (its accuracy rule has no label: it asked the Monitor whether the registry was down, and for its
    # history) and the four reports (evaluated on every call) imported the analytics again before 2026-12-07
    for command in (["check", "--all"], ["health", "fraud"], ["quality", "fraud"], ["fairness", "fraud"],
                    ["cost", "fraud"]):
        rc, first, out = _run(tmp_path, "--at", at, *command, "--format", "json")
        assert rc in (0, 1) and ("polars" in first or command[0] == "check"), command  # `snapshot` kept its findings
        rc2, again, out2 = _run(tmp_path, "--at", at, *command, "--format", "json")
        assert (rc2, out2) == (rc, out)
        assert _heavy(again, ("polars", "pyarrow", "numpy")) == [], command
        if command[0] == "check":
            assert any(f["kind"] == "accuracy_drop" and f["state"] == "insufficient data"
                       for f in json.loads(out)["incidents"])
        if command[0] == "health":  # the hand count of the last hour's requests (one every 3 minutes)
            assert sum(r["requests"] for r in json.loads(out)["table"]) == 20


def test_asking_whether_a_merge_is_due_imports_no_pyarrow(tmp_path):
    """A live log leaves small segments that a later merge joins, and every refresh asks whether one is due: asking
    imported the merge writer (and PyArrow, NumPy) before, so a kept answer over such a store cost 1.1-1.2 s instead
    of 0.6 s at 10M rows. Asked in a fresh process over a store where one is due."""
    from console.config import parse_file
    from console.store.place import COMPACT_AT
    from console.warehouse import Warehouse

    log = tmp_path / "p.jsonl"
    log.write_text("")
    (tmp_path / "mlops-console.toml").write_text(
        f'[store]\npath = "{tmp_path / "store"}"\n\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n\n'
        '[models.fraud]\ntask = "classification"\n')
    w = Warehouse(parse_file(str(tmp_path / "mlops-console.toml")))
    w.merge_in_background = False
    for k in range(COMPACT_AT):  # a refresh per append: a small segment each
        with open(log, "a") as fh:
            fh.write("".join(json.dumps({"ts": (START + timedelta(minutes=10 * k + i)).isoformat() + "Z",
                                         "model": "fraud", "version": "1", "request_id": f"r{k}-{i}",
                                         "latency_ms": 10 + i}) + "\n" for i in range(10)))
        w.refresh()
    w.close()
    probe = ("import json, sys\nfrom console.config import parse_file\nfrom console.warehouse import Warehouse\n"
             "w = Warehouse(parse_file(sys.argv[1]))\ndue = w._merge_batch(w.manifest)\n"
             "print(json.dumps({'due': due is not None, 'modules': sorted(sys.modules)}))")
    got = json.loads(subprocess.run([sys.executable, "-c", probe, str(tmp_path / "mlops-console.toml")],
                                    capture_output=True, text=True, check=True, timeout=120,
                                    env=dict(os.environ, PYTHONPATH=SRC)).stdout)
    assert got["due"] and _heavy(set(got["modules"]), ("polars", "pyarrow", "numpy")) == []


def test_a_jsonl_ingest_imports_no_vendor_reader(tmp_path):
    """A refresh of a JSONL log asks of each piece whether its format is a vendor's (a Parquet file of a vendor's
    table, a carry across rotations): JSONL and CSV are told without importing the seven vendor readers (66 ms of
    a cold JSONL ingest's CPU)."""
    rows = [json.dumps({"ts": f"2026-11-20T00:{i // 60:02d}:{i % 60:02d}.000000Z", "model": "fraud", "version": "1",
                        "request_id": f"r{i}", "latency_ms": 10.0, "f0": float(i)}, separators=(",", ":"))
            for i in range(200)]
    (tmp_path / "p.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "mlops-console.toml").write_text(
        '[workspace]\nname = "w"\n\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n\n'
        '[models.fraud]\ntask = "classification"\nfeatures = ["f0"]\n')
    code = ("import json, sys\nfrom pathlib import Path\nfrom console.config import parse_file\n"
            "from console.warehouse import Warehouse\n"
            "w = Warehouse(parse_file(sys.argv[1]), Path(sys.argv[2]))\nstats = w.refresh()\nw.close()\n"
            "print(json.dumps({'rows': stats.rows, 'modules': sorted(sys.modules)}))\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "mlops-console.toml"), str(tmp_path / "store")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rows"] == {"predictions": 200}
    assert "polars" in got["modules"]  # the typed path read it
    assert not [m for m in got["modules"] if m.startswith("console.sources.readers")]
