"""Quality, fairness, cost and drift of real-shaped logs, through the CLI, against independent oracles
(sklearn.metrics, a pandas groupby, a hand sum of the pricing, scipy), on the raw path and from the rollups.

The logs come from sklearn's bundled datasets (no download): a logistic regression (champion) and a
decision tree (canary, 20 %) on breast cancer, with a shadow mirroring a third of the requests under the
users' request ids, scores of exactly 0 and 1, a segment of one row, labels landing 1-96 h later (15 % never,
some corrected with the other class two hours later, some for requests never logged); a linear regression on
diabetes; multiclass logistic regressions on wine (`positive_label = "class_1"`) and digits (its classes
logged as JSON numbers, labelled "3" or "3.0"); a model whose labels are all one class; and an LLM priced
by tokens and replica-hours. Three weeks ending 2026-08-31 18:00Z, read with `--at`, so nothing depends on
the day the tests run.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from console.cli import main

END = datetime(2026, 8, 31, 18, 0, tzinfo=timezone.utc)
START = END - timedelta(days=21)
AT = "2026-08-31T18:00Z"
PRICES = {"input": 3.0, "output": 15.0, "replica_hour": 0.5, "replicas": 2}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _logs(rng) -> tuple[list[dict], list[dict]]:
    preds: list[dict] = []
    labels: list[dict] = []

    def times(n):
        return [START + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 21 * 86400, n))]

    data = load_breast_cancer()
    x, y = data.data, data.target
    champion = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[:300], y[:300])
    canary = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x[:300], y[:300])
    n = 3000
    idx = rng.integers(0, len(y), n)
    xs, ys, ts = x[idx] * rng.normal(1, 0.03, (n, x.shape[1])), y[idx], times(n)
    quartile = np.searchsorted(np.quantile(xs[:, 0], [0.25, 0.5, 0.75]), xs[:, 0])
    band = np.array(["q1", "q2", "q3", "q4"], dtype=object)[quartile]  # object: "tiny" fits
    band[n - 5] = "tiny"  # a segment of one row, inside every window read
    is_canary = rng.random(n) < 0.2
    score = np.where(is_canary, canary.predict_proba(xs)[:, 1], champion.predict_proba(xs)[:, 1])
    score[::97], score[::89] = 0.0, 1.0
    for i in range(n):
        row = {"ts": _iso(ts[i]), "model": "cancer", "version": "2" if is_canary[i] else "1",
               "variant": "canary" if is_canary[i] else "champion", "request_id": f"bc{i}",
               "features": {"mean_radius": float(xs[i, 0]), "mean_texture": float(xs[i, 1])},
               "size_band": str(band[i]), "prediction": str(int(score[i] >= 0.5)), "score": float(score[i]),
               "latency_ms": float(rng.gamma(2, 20)), "status": "ok"}
        preds.append(row)
        if i % 3 == 0:  # a shadow answering the same request the other way: never the users' numbers
            preds.append(dict(row, version="3", variant="shadow", prediction=str(1 - int(row["prediction"])),
                              score=1 - row["score"]))
        if i % 4 == 0:  # a model whose every label is the positive class
            preds.append(dict(row, model="onecls", request_id=f"o{i}"))
            labels.append({"request_id": f"o{i}", "label": "1", "ts": _iso(ts[i] + timedelta(hours=1))})
        if rng.random() < 0.85:
            lt = ts[i] + timedelta(hours=float(rng.uniform(1, 96)))
            labels.append({"request_id": f"bc{i}", "label": str(int(ys[i])), "ts": _iso(lt)})
            if i % 23 == 0:  # corrected to the other class two hours later
                labels.append({"request_id": f"bc{i}", "label": str(1 - int(ys[i])),
                               "ts": _iso(lt + timedelta(hours=2))})
    labels += [{"request_id": f"ghost{k}", "label": "1", "ts": _iso(END - timedelta(days=3))} for k in range(30)]

    x, y = load_diabetes(return_X_y=True)
    reg = LinearRegression().fit(x[:250], y[:250])
    n = 2000
    idx = rng.integers(0, len(y), n)
    xs, ys, ts = x[idx] + rng.normal(0, 0.005, (n, x.shape[1])), y[idx], times(n)
    pred = reg.predict(xs)
    for i in range(n):
        preds.append({"ts": _iso(ts[i]), "model": "diabetes", "version": "1", "request_id": f"db{i}",
                      "features": {"bmi": float(xs[i, 2])}, "prediction": float(pred[i]), "latency_ms": 10.0})
        if rng.random() < 0.9:
            labels.append({"request_id": f"db{i}", "label": str(float(ys[i])),
                           "ts": _iso(ts[i] + timedelta(hours=float(rng.uniform(1, 30))))})

    x, y = load_wine(return_X_y=True)
    proba = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[::2], y[::2])
    n = 1500
    idx = rng.integers(0, len(y), n)
    xs, ys, ts = x[idx] * rng.normal(1, 0.05, (n, x.shape[1])), y[idx], times(n)
    p = proba.predict_proba(xs)
    for i in range(n):
        preds.append({"ts": _iso(ts[i]), "model": "wine", "version": "1", "request_id": f"w{i}",
                      "features": {"alcohol": float(xs[i, 0])}, "prediction": f"class_{int(p[i].argmax())}",
                      "score": float(p[i, 1]), "latency_ms": 5.0})
        if rng.random() < 0.8:
            labels.append({"request_id": f"w{i}", "label": f"class_{int(ys[i])}",
                           "ts": _iso(ts[i] + timedelta(hours=2))})

    x, y = load_digits(return_X_y=True)
    digits = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x[::3], y[::3])
    n = 1500
    idx = rng.integers(0, len(y), n)
    xs, ys, ts = x[idx] + rng.normal(0, 0.5, (n, x.shape[1])), y[idx], times(n)
    p = digits.predict_proba(xs)
    for i in range(n):  # the classes as JSON numbers, labelled "3" or "3.0": compared as numbers
        preds.append({"ts": _iso(ts[i]), "model": "digits", "version": "1", "request_id": f"d{i}",
                      "features": {"pixel": float(xs[i, 20])}, "prediction": int(p[i].argmax()),
                      "score": float(p[i, 1]), "latency_ms": 5.0})
        if rng.random() < 0.8:
            labels.append({"request_id": f"d{i}", "label": f"{ys[i]}.0" if i % 2 else str(ys[i]),
                           "ts": _iso(ts[i] + timedelta(hours=1))})

    ts = times(2000)
    for i, t in enumerate(ts):
        v2 = t > END - timedelta(days=5)
        preds.append({"ts": _iso(t), "model": "chat", "version": "2" if v2 else "1", "request_id": f"c{i}",
                      "input_tokens": int(rng.integers(100, 900)) * (3 if v2 else 1),
                      "output_tokens": int(rng.integers(20, 300)), "latency_ms": 300.0, "prediction": "ok"})
    return sorted(preds, key=lambda r: r["ts"]), sorted(labels, key=lambda r: r["ts"])


CONFIG = """[store]
path = "store"
[rollups]
path = "{rollups}"
min_rows = {min_rows}
[[logs]]
kind = "predictions"
path = "predictions.jsonl"
[[logs]]
kind = "labels"
path = "labels.jsonl"
[models.cancer]
features = ["mean_radius", "mean_texture"]
reference = "reference.parquet"
segments = ["size_band"]
sensitive = ["size_band"]
[models.cancer.drift.mean_radius]
test = "wasserstein"
threshold = 0.1
[models.cancer.drift.mean_texture]
test = "js"
threshold = 0.1
[models.onecls]
features = ["mean_radius"]
[models.diabetes]
task = "regression"
features = ["bmi"]
[models.wine]
features = ["alcohol"]
positive_label = "class_1"
[models.digits]
features = ["pixel"]
[models.chat]
task = "llm"
[models.chat.prices]
input_per_1m = {input}
output_per_1m = {output}
replica_hour_usd = {replica_hour}
replicas = {replicas}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle-real")
    preds, labels = _logs(np.random.default_rng(0))
    (root / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds), encoding="utf-8")
    (root / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    ref = load_breast_cancer().data[:300]
    pd.DataFrame({"mean_radius": ref[:, 0], "mean_texture": ref[:, 1]}).to_parquet(root / "reference.parquet")
    # "raw" never reaches min_rows; "rollups" always does (as tests/test_rollup_quality.py forces it)
    for name, min_rows in (("raw", 10**9), ("rollups", 1)):
        (root / f"{name}.toml").write_text(CONFIG.format(rollups=f"rollups-{name}", min_rows=min_rows, **PRICES),
                                           encoding="utf-8")
    p = pd.DataFrame(preds)
    p["ts"] = pd.to_datetime(p["ts"], utc=True)
    lab = pd.DataFrame(labels)
    lab["ts"] = pd.to_datetime(lab["ts"], utc=True)
    return root, p, lab


def _cli(capsys, root: Path, path: str, *args: str) -> dict:
    code = main(["--config", str(root / f"{path}.toml"), *args, "--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return json.loads(out)


def _window(p: pd.DataFrame, model: str, days: float, at: str = AT) -> pd.DataFrame:
    """The users' rows of `model` in (at - days, at]: a shadow's mirrored rows are not the model's numbers."""
    end = pd.Timestamp(at)
    w = p[(p.model == model) & (p.ts > end - pd.Timedelta(days=days)) & (p.ts <= end)]
    return w[w.variant.fillna("champion") != "shadow"]


def _labelled(ws, model: str, days: float, at: str = AT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The window's rows and those with a label logged by `at`, the latest one per request."""
    _, p, lab = ws
    w = _window(p, model, days, at)
    known = lab[lab.ts <= pd.Timestamp(at)].sort_values("ts", kind="stable").drop_duplicates("request_id", keep="last")
    j = w.merge(known[["request_id", "label"]], on="request_id", how="left")
    return w, j[j.label.notna()]


def _close(got, want, tol=1e-9):
    assert got is not None and math.isclose(got, want, rel_tol=tol, abs_tol=tol), (got, want)


@pytest.mark.parametrize("path", ["raw", "rollups"])
@pytest.mark.parametrize("model,pos", [("cancer", "1"), ("wine", "class_1"), ("digits", "1")])
def test_classifier_quality_equals_sklearn(ws, capsys, path, model, pos):
    """Accuracy (multiclass: every class; digits' numbers against labels "3" and "3.0"), precision, recall and F1
    of `positive_label` exact on both paths, ROC AUC of the positive class's score exact raw and within its
    stated bound from the rollups; per version too, the shadow in its own row; the predictions labelled only
    after the view's end counted apart."""
    root, p, lab = ws
    d = _cli(capsys, root, path, "quality", model, "--at", AT, "--window", "14d")
    assert d["source"] == ("rollups" if path == "rollups" else "raw rows")
    w, k = _labelled(ws, model, 14)
    if model == "digits":  # a class as a number: 3, "3" and "3.0" are one class
        w = w.assign(prediction=w.prediction.astype(int).astype(str))
        k = k.assign(label=k.label.astype(float).astype(int).astype(str),
                     prediction=k.prediction.astype(int).astype(str))
    y, yhat = (k.label == pos).astype(int), (k.prediction == pos).astype(int)
    now, m = d["now"], d["now"]["metrics"]
    assert (now["n"], now["n_labelled"]) == (len(w), len(k))
    _close(m["accuracy"], skm.accuracy_score(k.label, k.prediction))
    _close(m["precision"], skm.precision_score(y, yhat))
    _close(m["recall"], skm.recall_score(y, yhat))
    _close(m["f1"], skm.f1_score(y, yhat))
    auc = skm.roc_auc_score(y, k.score)
    if path == "raw":
        _close(m["roc_auc"], auc)
    else:
        assert 0 < m["roc_auc_bound"] < 0.1 and abs(m["roc_auc"] - auc) <= m["roc_auc_bound"]
    users = [r for r in d["by_version"] if r["variant"] != "shadow"]
    assert sorted(r["version"] for r in users) == sorted(w.version.unique())
    for r in users:
        kv = k[k.version == r["version"]]
        assert r["n"] == (w.version == r["version"]).sum()
        _close(r["accuracy"], skm.accuracy_score(kv.label, kv.prediction))
    before = set(lab[lab.ts <= pd.Timestamp(AT)].request_id)
    later = set(lab[lab.ts > pd.Timestamp(AT)].request_id)
    assert d["labelled_after"] == len(set(w.request_id) & later - before)
    if model == "cancer":  # the shadow answered the users' requests the other way round
        shadow = [r for r in d["by_version"] if r["variant"] == "shadow"]
        assert len(shadow) == 1 and shadow[0]["accuracy"] == pytest.approx(1 - m["accuracy"], abs=0.05)


@pytest.mark.parametrize("path", ["raw", "rollups"])
def test_regression_quality_equals_sklearn(ws, capsys, path):
    root, *_ = ws
    d = _cli(capsys, root, path, "quality", "diabetes", "--at", AT, "--window", "14d")
    assert d["source"] == ("rollups" if path == "rollups" else "raw rows")
    w, k = _labelled(ws, "diabetes", 14)
    actual, pred = k.label.astype(float), k.prediction.astype(float)
    m = d["now"]["metrics"]
    assert (d["now"]["n"], d["now"]["n_labelled"]) == (len(w), len(k))
    _close(m["mae"], skm.mean_absolute_error(actual, pred))
    _close(m["rmse"], math.sqrt(skm.mean_squared_error(actual, pred)))
    _close(m["mape"], skm.mean_absolute_percentage_error(actual, pred))
    # a count of rows: JSON said `"mape_n": 2246.0` beside the per-version table's 2246
    assert type(m["mape_n"]) is int and m["mape_n"] == (actual != 0).sum()


@pytest.mark.parametrize("path", ["raw", "rollups"])
def test_labels_all_one_class(ws, capsys, path):
    """Every label the positive class: ROC AUC has no value (sklearn refuses it), precision is 1 and recall is
    the share predicted positive."""
    root, *_ = ws
    m = _cli(capsys, root, path, "quality", "onecls", "--at", AT, "--window", "21d")["now"]["metrics"]
    _, k = _labelled(ws, "onecls", 21)
    assert k.label.nunique() == 1 and m["roc_auc"] is None
    _close(m["precision"], 1.0)
    _close(m["recall"], skm.recall_score(k.label.astype(int), k.prediction.astype(int)))


def test_fairness_equals_a_pandas_groupby(ws, capsys):
    """Per-segment metrics (the one-row segment too) and the selection-rate and TPR gaps (max - min over
    groups), selection over every served prediction, TPR over the labelled positives."""
    root, *_ = ws
    d = _cli(capsys, root, "raw", "fairness", "cancer", "--at", AT, "--window", "21d")
    w, k = _labelled(ws, "cancer", 21)
    segs = {s["group"]: s for s in d["segments"] if s["column"] == "size_band"}
    assert set(segs) == set(w.size_band) and segs["tiny"]["n"] == 1
    for group, g in w.groupby("size_band"):
        gk = k[k.size_band == group]
        assert (segs[group]["n"], segs[group]["n_labelled"]) == (len(g), len(gk))
        if len(gk):
            _close(segs[group]["metrics"]["accuracy"], skm.accuracy_score(gk.label, gk.prediction))
    selection = w.groupby("size_band").prediction.apply(lambda s: (s == "1").mean())
    tpr = k[k.label == "1"].groupby("size_band").prediction.apply(lambda s: (s == "1").mean())
    gaps = d["gaps"]["size_band"]
    _close(gaps["selection_rate_difference"], selection.max() - selection.min())
    _close(gaps["tpr_difference"], tpr.max() - tpr.min())


@pytest.mark.parametrize("path", ["raw", "rollups"])
@pytest.mark.parametrize("span", [("--window", "7d"), ("--from", "2026-08-20T09:30Z", "--to", "2026-08-27T14:15Z")])
def test_cost_equals_a_hand_sum(ws, capsys, path, span):
    """Tokens at their prices plus each clock hour's replica cost shared over that hour's requests, per
    window and per version, whether the window's ends fall on an hour or inside one (closed hours)."""
    root, p, _ = ws
    args = ("--at", AT, *span) if span[0] == "--window" else span
    d = _cli(capsys, root, path, "cost", "chat", *args)
    assert d["source"] == ("rollups" if path == "rollups" else "raw rows")
    chat = p[p.model == "chat"]
    if span[0] == "--window":
        w = _window(p, "chat", 7)
    else:
        w = chat[(chat.ts >= pd.Timestamp(span[1])) & (chat.ts < pd.Timestamp(span[3]))]
    per_hour = chat.groupby(chat.ts.dt.floor("h")).size()

    def usd(rows):
        compute = PRICES["replica_hour"] * PRICES["replicas"] * sum(1 / per_hour[h] for h in rows.ts.dt.floor("h"))
        return (rows.input_tokens.sum() * PRICES["input"] + rows.output_tokens.sum() * PRICES["output"]) / 1e6 + compute

    assert d["window_spend"]["requests"] == len(w)
    _close(d["window_spend"]["usd"], usd(w), 1e-6)
    assert d["tokens"]["input_tokens"] == w.input_tokens.sum()
    for r in d["per_1k"]:
        _close(r["cost_usd"], usd(w[w.version == r["version"]]), 1e-6)


@pytest.mark.parametrize("path", ["raw", "rollups"])
def test_drift_equals_scipy(ws, capsys, path):
    """Normed Wasserstein (scipy's distance over the reference's standard deviation) and Jensen-Shannon over
    Sturges bins of both samples, of the served rows only: exact raw, within the stated bound from rollups."""
    root, p, _ = ws
    d = _cli(capsys, root, path, "drift", "cancer", "--at", AT, "--window", "7d")
    ref = pd.read_parquet(root / "reference.parquet")
    cur = pd.DataFrame(list(_window(p, "cancer", 7).features))
    got = {f["column"]: f for f in d["features"]}
    r, c = ref.mean_radius.to_numpy(), cur.mean_radius.to_numpy()
    want = stats.wasserstein_distance(r, c) / np.std(r)
    f = got["mean_radius"]
    assert f["test"] == "wasserstein" and f["n_cur"] == len(cur)
    if path == "raw":
        assert f["bound"] is None
        _close(f["score"], want, 1e-9)
    else:
        # an hour that held all its values keeps them as float32: bound 0, exact to about 7 digits
        assert f["method"] == "sketch" and 0 <= f["bound"] < 0.1, f
        assert abs(f["score"] - want) <= f["bound"] + 1e-7 * want, (f, want)
    r, c = ref.mean_texture.to_numpy(), cur.mean_texture.to_numpy()
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
    want = distance.jensenshannon(np.histogram(r, edges)[0] / len(r), np.histogram(c, edges)[0] / len(c))
    _close(got["mean_texture"]["score"], want, 1e-9)


async def test_the_quality_screen_shows_the_sklearn_numbers(ws):
    """The TUI's Quality screen over 7 days at the view's end shows sklearn's accuracy and F1 to 3 places."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import screen_text, until

    root, *_ = ws
    cfg = parse_file(root / "raw.toml")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: END.replace(tzinfo=None)), poll=False)
    _, k = _labelled(ws, "cancer", 7)
    acc = f"acc {skm.accuracy_score(k.label, k.prediction):.3f}"
    f1 = f"f1 {skm.f1_score(k.label.astype(int), k.prediction.astype(int)):.3f}"
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_model("cancer", "production")
        await pilot.press("u")
        await pilot.press("7")
        await until(pilot, lambda: "acc " in screen_text(app) and "7d" in screen_text(app), "the quality numbers")
        await until(pilot, lambda: acc in screen_text(app), f"{acc!r} on the screen")
        assert f1 in screen_text(app)
