"""What every reader shares: splitting a chunk into records, typing the rows it maps, setting bad ones aside.

Readers build plain dicts per mapped row (vendor JSON is nested, so Python does the walking), then hand
them here once per chunk; the tables come out with the contract's types and one column per feature, and a
record that cannot be mapped costs only itself (a `Rejected` with its line and reason).
"""

from __future__ import annotations

import base64
import csv
import io
import functools
import binascii
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pyarrow as pa

from console.sources.contract import LABEL, PREDICTION, Parsed, Rejected

RAW_CHARS = 300
_TYPES = {**PREDICTION, "status": pa.string(), "sampling_weight": pa.float64()}
_LABEL_TYPES = dict(LABEL)
# Columns vendor readers add beside the contract, typed when a chunk holds no value of them (no span had cache reads,
# a Batch file of Embeddings judges no refusal): as text, the store said the field held "more than one type" and read
# the counts as text from then on. Only an all-empty column takes this type, so no value is ever dropped for it.
_ABSENT_TYPES = {"cached_tokens": pa.int64(), "refused": pa.bool_()}
_EPOCH = datetime(1970, 1, 1)
_HOUR_PATH = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/")


class BadRecord(ValueError):
    """A record the reader cannot map; its message is the reason an operator reads."""


class BinaryPayload(BadRecord):
    """A payload that is valid BASE64 of binary content (an .npy array, protobuf): not text, so not decoded."""

    def __init__(self, content_type: str | None):
        self.content_type = content_type or "unknown type"
        super().__init__(f"BASE64 of binary content ({self.content_type}), not text")


def loads(text: str | bytes) -> Any:
    """Strict JSON: NaN / Infinity (bare, or overflowing like 1e999) make the record malformed, not a number."""
    return orjson.loads(text)


def lines(body: bytes, first_line: int, rejected: list[Rejected]) -> Iterator[tuple[int, str]]:
    """(line number, text) for each non-blank line; a line that is not UTF-8 is rejected alone."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    for offset, raw in enumerate(body.split(b"\n")):
        if not raw.strip():
            continue
        loc = first_line + offset
        try:
            yield loc, raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(loc, f"not UTF-8 (byte {exc.start})", raw[:RAW_CHARS].decode("utf-8", "replace")))


def json_lines(body: bytes, first_line: int, rejected: list[Rejected],
               arrays: bool = False) -> Iterator[tuple[int, dict, str]]:
    """(line number, object, text) for each line holding a JSON object; others are rejected with why. A pretty-
    printed document (a line `{` or `[` alone, through the next `}` or `]` at the line's start) is rejected once,
    saying so: its every line was a reject of its own, with a reason about columns (181 for one OTLP export).
    `arrays`: a line holding a JSON array is its elements, each an object of that line (the KServe blob logger
    writes a batch of records as one array per object)."""
    document: list[int] = []  # first and last line of a pretty-printed document being skipped
    for loc, text in lines(body, first_line, rejected):
        if document:
            document[1] = loc
            if text.rstrip() in ("}", "]", "},", "],"):
                rejected.append(Rejected(document[0], f"a multi-line (pretty-printed) JSON document, lines "
                                                      f"{document[0]}-{loc}: this format reads one JSON object per "
                                                      "line (write it compact, e.g. `jq -c`)", ""))
                document = []
            continue
        if text.strip() in ("{", "["):
            document = [loc, loc]
            continue
        try:
            obj = loads(text)
        except BadRecord as exc:
            rejected.append(Rejected(loc, str(exc), text[:RAW_CHARS]))
            continue
        except ValueError as exc:
            rejected.append(Rejected(loc, f"not JSON: {exc.msg} at column {exc.colno}", text[:RAW_CHARS]))
            continue
        if arrays and isinstance(obj, list):
            for item in obj:
                raw = orjson.dumps(item).decode()
                if isinstance(item, dict):
                    yield loc, item, raw
                else:
                    rejected.append(Rejected(loc, f"not a JSON object (a {type(item).__name__})", raw[:RAW_CHARS]))
            continue
        if not isinstance(obj, dict):
            rejected.append(Rejected(loc, f"not a JSON object (a {type(obj).__name__})", text[:RAW_CHARS]))
            continue
        yield loc, obj, text
    if document:  # not closed (yet): one reject for what was read of it
        rejected.append(Rejected(document[0], f"a multi-line (pretty-printed) JSON document from line {document[0]}: "
                                              "this format reads one JSON object per line (write it compact)", ""))


def reject(rejected: list[Rejected], loc: int, reason: str, raw: str | bytes) -> None:
    if isinstance(raw, bytes):
        raw = raw[:RAW_CHARS * 4].decode("utf-8", "replace")
    rejected.append(Rejected(loc, reason, raw[:RAW_CHARS]))


# ------------------------------------------------------------------ values


def parse_time(value: Any) -> datetime | None:
    """An instant as UTC without tzinfo: ISO text (any fraction length, Z or offset) or epoch s/ms/us/ns."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("z"):  # RFC 3339 allows a lower-case Z
            text = text[:-1] + "Z"
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return parse_time(float(text) if "." in text else int(text))
        m = re.match(r"^(.*?\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
        if m and m.group(2) and len(m.group(2)) > 7:  # nanoseconds: Python takes at most 6 digits
            text = m.group(1) + m.group(2)[:7] + m.group(3)
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            raise BadRecord(f"unreadable time {value!r}") from None
        return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRecord(f"unreadable time {value!r}")
    magnitude = abs(value)
    if isinstance(value, int):  # exact: OTLP gives nanoseconds as 19-digit integers
        micros = value * 1_000_000 if magnitude < 1e11 else value * 1000 if magnitude < 1e14 \
            else value if magnitude < 1e17 else value // 1000
        try:
            return _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise BadRecord(f"time out of range {value!r}") from None
    seconds = (value if magnitude < 1e11 else value / 1e3 if magnitude < 1e14
               else value / 1e6 if magnitude < 1e17 else value / 1e9)
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise BadRecord(f"time out of range {value!r}") from None


def number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric text; None when it is not one."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            out = float(value)
        except ValueError:
            return None
        return out if math.isfinite(out) else None
    return None


def integer(value: Any) -> int | None:
    """Token counts: ints, or ints as strings (OTLP's 64-bit encoding)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def count(value: Any, what: str) -> int | None:
    """A token count: absent is None; present, it must be a whole number that fits int64, or the record is bad."""
    if value is None:
        return None
    out = integer(value)
    if out is None:
        raise BadRecord(f"{what} is not a whole number: {value!r}"[:120])
    if not 0 <= out < 2**63:
        raise BadRecord(f"{what} out of range: {out}"[:120])
    return out


def json_object(value: Any, pairs: bool = False) -> dict:
    """A metadata field as a dict: already one, JSON text of one, or (`pairs`) an Arrow map read as
    [(key, value), ...]; anything else is an empty dict, so a bad field costs only that field."""
    if isinstance(value, dict):
        return value
    if pairs and isinstance(value, list):
        return {k: v for k, v in value}
    if isinstance(value, str):
        try:
            out = loads(value)
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}
    return {}


def text_of(value: Any) -> str:
    """A prediction or label as text: integral floats without '.0', containers as compact JSON."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode_payload(data: Any, encoding: str | None, content_type: str | None) -> Any:
    """SageMaker-style `{data, encoding}`: CSV text as a list of rows, JSON parsed, BASE64 decoded first."""
    if not isinstance(data, str):
        raise BadRecord(f"data is a {type(data).__name__}, not a string")
    enc = (encoding or "").upper()
    ctype = (content_type or "").lower()
    if enc == "BASE64":
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise BadRecord("data is not valid BASE64") from None
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not ctype.startswith(("text/", "application/json")) or b"\x00" in raw:
                raise BinaryPayload(content_type) from None
            data = raw.decode("latin-1")  # text in another encoding (a Latin-1 CSV: `Zürich`), not binary
        enc = "JSON" if "json" in ctype else "CSV" if "csv" in ctype else ""
        if not enc:  # no content type to go by: JSON if it reads as JSON, else CSV
            try:
                return loads(data)
            except ValueError:
                enc = "CSV"
    if enc == "CSV":  # RFC 4180, as a client wrote it: a quoted cell may hold commas and line breaks
        try:
            return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(data.strip()), strict=True)
                    if any(cell.strip() for cell in row)]
        except csv.Error as exc:
            raise BadRecord(f"CSV payload unreadable: {exc}") from None
    if enc == "JSON":
        if "jsonlines" in ctype:
            try:
                return [loads(row) for row in data.splitlines() if row.strip()]
            except ValueError as exc:
                raise BadRecord(f"JSON Lines payload unreadable: {exc}") from None
        try:
            return loads(data)
        except ValueError as exc:
            raise BadRecord(f"JSON payload unreadable: {exc}") from None
    raise BadRecord(f"unknown encoding {encoding!r}")


def csv_cell(value: str) -> Any:
    """A CSV cell typed as the JSON reader would: int, float, else text."""
    try:
        return int(value)
    except ValueError:
        pass
    out = number(value)
    return out if out is not None else value


def hour_from_path(source: str) -> datetime | None:
    """SageMaker's `.../yyyy/mm/dd/hh/` folder as an instant (the hour the file was written for)."""
    m = _HOUR_PATH.search(source.replace("\\", "/"))
    if not m:
        return None
    y, mo, d, h = (int(g) for g in m.groups())
    try:
        return datetime(y, mo, d, h)
    except ValueError:
        return None


# ------------------------------------------------------------------ requests and outputs


def instances(body: Any, feature_names: list[str] | None) -> list[dict]:
    """One feature dict per example from the request shapes serving stacks use.

    dataframe_records / instances (rows as dicts or lists), dataframe_split {columns, data}, inputs
    (a dict of columns, a list of rows, or V2 tensors), a bare list of rows or one dict. Rows given by
    position (a list, or SageMaker's `{"features": [...]}`) are named from `feature_names`, else f0, f1, ...
    """
    if isinstance(body, dict):
        if "dataframe_records" in body:
            return _rows(body["dataframe_records"], feature_names)
        if "dataframe_split" in body:
            split = body["dataframe_split"]
            if not isinstance(split, dict) or not isinstance(split.get("data"), list):
                raise BadRecord("dataframe_split without a data list")
            return _rows(split["data"], split.get("columns") or feature_names)
        if "instances" in body:
            return _rows(body["instances"], feature_names)
        if "inputs" in body:
            inputs = body["inputs"]
            if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict) and "datatype" in inputs[0]:
                return v2_tensors(inputs, feature_names)
            if isinstance(inputs, dict):
                cols = {k: (v if isinstance(v, list) else [v]) for k, v in inputs.items()}
                n = {len(v) for v in cols.values()}
                if len(n) > 1:
                    raise BadRecord("inputs columns of different lengths")
                return [{k: v[i] for k, v in cols.items()} for i in range(n.pop() if n else 0)]
            return _rows(inputs, feature_names)
        return _rows([body], feature_names)
    if isinstance(body, list):
        if body and not isinstance(body[0], (list, dict)):
            return _rows([body], feature_names)
        return _rows(body, feature_names)
    raise BadRecord(f"request of unknown shape ({type(body).__name__})")


def _rows(rows: Any, names: list[str] | None) -> list[dict]:
    if not isinstance(rows, list):
        raise BadRecord(f"expected a list of examples, got a {type(rows).__name__}")
    out = []
    for row in rows:
        if isinstance(row, dict):
            values = _sagemaker_features(row)
            out.append(row if values is None else by_position(values, names))
        elif isinstance(row, list):
            out.append(by_position(row, names))
        else:
            out.append(by_position([row], names))
    return out


def _sagemaker_features(row: dict) -> list | None:
    """The values of the SageMaker built-in algorithms' common request row (`{"features": [...]}`, or the dense
    `{"data": {"features": {"values": [...]}}}`), named by position like a CSV row; None for any other row."""
    if set(row) == {"features"} and isinstance(row["features"], list):
        return row["features"]
    data = row.get("data") if set(row) == {"data"} else None
    feats = data.get("features") if isinstance(data, dict) and set(data) == {"features"} else None
    if isinstance(feats, dict) and isinstance(feats.get("values"), list) and "keys" not in feats:
        return feats["values"]
    return None


def by_position(row: list, names: list[str] | None) -> dict:
    if names is not None and len(names) != len(row):
        raise BadRecord(f"{len(row)} values where {len(names)} features are configured")
    return {(names[i] if names else f"f{i}"): v for i, v in enumerate(row)}


def v2_tensors(tensors: list[dict], feature_names: list[str] | None) -> list[dict]:
    """Open Inference Protocol tensors to rows: one [N, k] tensor is k features by position, several
    [N] or [N, 1] tensors are one feature each (by tensor name)."""
    shaped = []
    for t in tensors:
        if not isinstance(t, dict) or not isinstance(t.get("data"), list):
            raise BadRecord("V2 tensor without a data list")
        shape = t.get("shape") or [len(t["data"])]
        data = _flatten(t["data"])
        n = int(shape[0]) if shape else 1
        k = 1
        for dim in shape[1:]:
            k *= int(dim)
        if n * k != len(data):
            raise BadRecord(f"tensor {t.get('name')!r}: shape {shape} does not hold {len(data)} values")
        shaped.append((t.get("name") or f"input{len(shaped)}", n, k, data))
    if len(shaped) == 1 and shaped[0][2] > 1:
        _, n, k, data = shaped[0]
        return [by_position(data[i * k:(i + 1) * k], feature_names) for i in range(n)]
    ns = {s[1] for s in shaped}
    if len(ns) > 1:
        raise BadRecord("V2 input tensors with different batch sizes")
    rows = [dict() for _ in range(ns.pop() if ns else 0)]
    for name, n, k, data in shaped:
        for i in range(n):
            rows[i][name] = data[i] if k == 1 else text_of(data[i * k:(i + 1) * k])
    return rows


def v2_outputs(tensors: list[dict], options: Mapping[str, Any] | None = None) -> list[Any]:
    """One value (or row of k values) per example from V2 output tensors.

    One tensor is the prediction. Of several (a classifier's `label` and `probability`, ONNX's `output_label`
    and `output_probability`), the score is `options.score_tensor`, else the one named for a probability or
    score; the label is `options.label_tensor`, else the first other one; each example is then
    `{"prediction": label, "probability": score}` for `map_output`. Only the first tensor was read: a response
    listing the label second had its probabilities taken for the prediction."""
    options = options or {}
    # (a tensor without a data list, such as one sent as binary data, is one this cannot read: the others still are)
    tensors = [t for t in tensors if isinstance(t, dict) and isinstance(t.get("data"), list)]
    if not tensors:
        raise BadRecord("V2 response without an output tensor")
    by_name = {t.get("name"): t for t in tensors}
    for key in ("label_tensor", "score_tensor"):
        if options.get(key) is not None and options[key] not in by_name:
            raise BadRecord(f"no output tensor {options[key]!r} (options.{key}); the response has "
                            + ", ".join(repr(n) for n in by_name))
    if len(tensors) == 1 and options.get("score_tensor") is None:
        return _v2_values(tensors[0])
    score = by_name.get(options.get("score_tensor")) or next(
        (t for t in tensors if _SCORE_TENSOR.search(str(t.get("name") or ""))), None)
    label = by_name.get(options.get("label_tensor")) or next((t for t in tensors if t is not score), None)
    if options.get("score_tensor") is None and options.get("label_tensor") is None and score is None:
        return _v2_values(tensors[0])  # no tensor names a score: the first is the prediction, as one tensor is
    labels = _v2_values(label) if label is not None else None
    scores = _v2_values(score) if score is not None else None
    n = len(labels if labels is not None else scores)
    if labels is not None and scores is not None and len(scores) != n:
        raise BadRecord(f"output tensors {label.get('name')!r} and {score.get('name')!r} hold {n} and "
                        f"{len(scores)} examples")
    return [{**({"prediction": labels[i]} if labels is not None else {}),
             **({"probability": scores[i]} if scores is not None else {})} for i in range(n)]


_SCORE_TENSOR = re.compile(r"prob|score", re.IGNORECASE)


def _v2_values(t: dict) -> list[Any]:
    data = _flatten(t["data"])
    shape = t.get("shape") or [len(data)]
    n = int(shape[0]) if shape else 1
    k = len(data) // n if n else 0
    if n * k != len(data):
        raise BadRecord(f"output shape {shape} does not hold {len(data)} values")
    return data if k == 1 else [data[i * k:(i + 1) * k] for i in range(n)]


def _flatten(data: list) -> list:
    if data and isinstance(data[0], list):
        return [v for row in data for v in _flatten(row)]
    return data


def outputs(body: Any, options: Mapping[str, Any] | None = None) -> list[Any]:
    """One output per example from `{predictions: [...]}`, V2 `{outputs: [...]}` (`v2_outputs`), a list, or a
    scalar."""
    if isinstance(body, dict):
        if "predictions" in body:
            preds = body["predictions"]
            if isinstance(preds, dict):  # a column-oriented frame {col: [..]}
                cols = list(preds.values())
                return [dict(zip(preds, vals)) for vals in zip(*cols)] if cols and isinstance(cols[0], list) else [preds]
            return preds if isinstance(preds, list) else [preds]
        if "outputs" in body and isinstance(body["outputs"], list):
            return v2_outputs(body["outputs"], options)
        return [body]
    if isinstance(body, list):
        return body
    return [body]


_LABEL_KEYS = ("predicted_label", "prediction", "label", "class", "predicted_class")
_SCORE_KEYS = ("score", "probability", "proba", "confidence")


def _positive(values: list, classes, options: Mapping[str, Any]) -> float | None:
    """The positive class's probability in a list of class probabilities: of two classes, the one named
    `positive_label` ("1") among `classes` (else among the indexes); of more, only when `positive_label` is set
    (else the largest: a multiclass model has no positive class to name)."""
    nums = [number(v) for v in values]
    if not nums or any(v is None for v in nums):
        return None
    if len(nums) > 2 and options.get("positive_label") is None:
        return max(nums)
    names = [str(c) for c in classes] if classes else [str(i) for i in range(len(nums))]
    pos = str(options.get("positive_label", "1"))
    return nums[names.index(pos)] if pos in names[:len(nums)] else max(nums)


def map_output(value: Any, options: Mapping[str, Any]) -> dict:
    """prediction / prediction_num / score from one model output.

    A number with `threshold` set is a score (prediction is `positive_label`/`negative_label`, default
    "1"/"0"); without it, the number is the prediction. A list of numbers is class probabilities
    (prediction = argmax, named by `classes` if given; score = the positive class's probability, as the contract's
    score is: the class named `positive_label` ("1"), else the largest). A dict gives its label and score keys.
    The most probable class's probability as the score turned ROC AUC upside down ([0.9, 0.1] scored 0.9).
    """
    out: dict[str, Any] = {}
    classes = options.get("classes")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        for key in _LABEL_KEYS:
            if key in value:
                out.update(map_output(value[key], {}))
                break
        for key in _SCORE_KEYS:
            if key in value:
                v = value[key]
                out["score"] = _positive(v, classes, options) if isinstance(v, list) and v else number(v)
                break
        if "probabilities" in value and "score" not in out and isinstance(value["probabilities"], list) \
                and value["probabilities"]:
            out["score"] = _positive(value["probabilities"], classes, options)
        if "prediction" not in out and out.get("score") is not None and options.get("threshold") is not None:
            out.update(map_output(out["score"], options))
        return out
    if isinstance(value, list):
        nums = [number(v) for v in value]
        if nums and all(v is not None for v in nums):
            best = max(range(len(nums)), key=nums.__getitem__)
            out["prediction"] = str(classes[best]) if classes and best < len(classes) else str(best)
            out["prediction_num"] = number(out["prediction"])
            out["score"] = _positive(nums, classes, options)
            return out
        out["prediction"] = text_of(value)
        return out
    num = number(value)
    threshold = options.get("threshold")
    if num is not None and threshold is not None and not isinstance(value, str):
        out["score"] = num
        out["prediction"] = str(options.get("positive_label", "1") if num >= float(threshold)
                                else options.get("negative_label", "0"))
        out["prediction_num"] = number(out["prediction"])
        return out
    if num is not None and threshold is not None:  # numeric text from CSV
        return map_output(num, options)
    if value is None:
        return out
    out["prediction"] = text_of(value)
    out["prediction_num"] = num
    return out


# ------------------------------------------------------------------ tables


def _column(name: str, values: list, types: Mapping[str, pa.DataType]) -> pa.Array:
    typ = types.get(name)
    if typ is not None:
        if pa.types.is_string(typ):
            values = [None if v is None else text_of(v) for v in values]
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):  # readers validate; never fatal
            return pa.array([_fits(v, typ) for v in values], type=typ)
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pa.array([None if v is None else text_of(v) for v in values], type=pa.string())
    if pa.types.is_null(arr.type):
        return arr.cast(_ABSENT_TYPES.get(name, pa.string()))
    if pa.types.is_nested(arr.type):
        return pa.array([None if v is None else text_of(v) for v in values], type=pa.string())
    return arr


def _fits(value: Any, typ: pa.DataType) -> Any:
    try:
        pa.array([value], type=typ)
        return value
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return None


def table(rows: list[dict], types: Mapping[str, pa.DataType], source: str) -> pa.Table | None:
    """Rows (dicts with `loc`) to one typed table: contract columns first with their types, then each
    other key (a feature or segment) with the type Arrow infers for it, text if its values disagree."""
    if not rows:
        return None
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    ordered = [n for n in types if n in names] + [n for n in names if n not in types and n != "loc"]
    cols = {n: _column(n, [row.get(n) for row in rows], types) for n in ordered}
    cols["source"] = pa.array([source] * len(rows), type=pa.string())
    cols["loc"] = pa.array([row["loc"] for row in rows], type=pa.int64())
    return pa.table(cols)


def parsed(preds: list[dict], labels: list[dict], rejected: list[Rejected], source: str, *,
           carry: object = None, notes: list[str] | None = None) -> Parsed:
    return Parsed(predictions=table(preds, _TYPES, source), labels=table(labels, _LABEL_TYPES, source),
                  rejected=rejected, carry=carry, notes=notes or [])


def label_row(loc: int, request_id: str, value: Any, ts: datetime | None = None) -> dict:
    """A label keyed to the prediction it grades: the text, and its number when it is one."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return {"loc": loc, "request_id": request_id, "label": text_of(value), "label_num": number(value), "ts": ts}


def features_of(row: dict, reserved: frozenset[str] = frozenset(_TYPES) | {"source", "loc"}) -> dict:
    """A request's fields as feature columns; one named like a contract column gets a `feature_` prefix."""
    return {(f"feature_{k}" if k in reserved else str(k)): (text_of(v) if isinstance(v, (dict, list)) else v)
            for k, v in row.items()}


def weight(fraction: Any) -> float | None:
    """Sampling declared as a fraction kept: each kept row stands for 1/fraction requests."""
    f = number(fraction)
    if f is None or f <= 0 or f >= 1:
        return None
    return 1.0 / f


def sampled_note(weight: float) -> str:
    """What a reader says of sampled rows: the console counts what was captured, it does not scale by the weight."""
    return (f"sampled: each captured row stands for {weight:g} requests; requests, throughput and cost shown are "
            "of the captured rows (rates are not affected)")


def b64_text(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRecord("body is not valid BASE64 of UTF-8 text") from None


def reason(exc: BaseException) -> str:
    """Why a record was set aside: the reader's own words, or the unexpected shape that broke the mapping."""
    if isinstance(exc, BadRecord):
        return str(exc)
    return f"unreadable record ({type(exc).__name__}: {str(exc)[:120]})"


def priced(in_tok: int | None, out_tok: int | None, options: Mapping[str, Any], cached: int | None = None
           ) -> float | None:
    """Cost from the configured prices per million tokens; None without prices or tokens. `cached`, the cache hits
    inside `in_tok`, are priced at `options.cached_per_1m`, else at the input price, as a model's prices are
    (`analytics.cost`): a reader's own cost and the model's agree on what a cache hit costs."""
    p_in, p_out = number(options.get("input_per_1m")), number(options.get("output_per_1m"))
    if (p_in is None and p_out is None) or (in_tok is None and out_tok is None):
        return None
    p_cached = number(options.get("cached_per_1m"))
    hits = min(max(cached or 0, 0), in_tok or 0)
    return (((in_tok or 0) - hits) * (p_in or 0.0) + hits * (p_in or 0.0 if p_cached is None else p_cached)
            + (out_tok or 0) * (p_out or 0.0)) / 1e6


def option_number(options: Mapping[str, Any], key: str, default: float) -> float:
    value = number(options.get(key))
    return default if value is None or value < 0 else value


_OPTION_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    **{k: ("text", (str,)) for k in ("model", "version", "environment", "endpoint", "variant", "feature_prefix", "unit",
                                      "evaluation", "assessment", "positive_label", "negative_label",
                                      "tracking_uri", "label_tensor", "score_tensor", "label_key")},
    "batch_time": ("a time", (str, int, float)), "lookback": ("a duration", (str, int, float)),
    **{k: ("a number", (int, float)) for k in ("threshold", "sampling_percentage", "input_per_1m", "output_per_1m", "cached_per_1m",
                                               "pair_timeout_s", "wrapper_window_s", "max_waiting")},
    "features": ("a list of names", (list, tuple)), "classes": ("a list", (list, tuple)),
    **{k: ("a table", (dict,)) for k in ("variant_versions", "models", "model_versions", "served_entities")},
}


# The options of every reader that maps model outputs (`map_output`) or prices tokens (`priced`).
OUTPUT_OPTIONS = frozenset({"threshold", "positive_label", "negative_label", "classes", "label_tensor",
                            "score_tensor"})
PRICE_OPTIONS = frozenset({"input_per_1m", "output_per_1m", "cached_per_1m"})


def clean_options(options: Any, known: frozenset[str] | None = None,
                  fmt: str = "this format") -> tuple[dict[str, Any], list[str]]:
    """The `[logs.options]` a reader understands, each of the type it needs; a wrong one, or one the reader does
    not read (`known`: a typo, or an option of another format), is dropped and said, so a typo in config costs
    that option, never the records."""
    if not isinstance(options, Mapping):
        return {}, [] if options is None else ["[logs.options] ignored: not a table"]
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in options.items():
        if known is not None and key not in known:
            notes.append(_unknown_option(key, known, fmt))
            continue
        want = _OPTION_TYPES.get(key)
        ok = want is None or (isinstance(value, want[1]) and not isinstance(value, bool))
        if ok and want and want[1] == (int, float) and number(value) is None:
            ok = False
        if ok and key == "features" and not all(isinstance(v, str) for v in value):
            ok = False
        if ok and want and want[1] == (dict,) and key != "served_entities":
            value = {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        if ok:
            out[key] = value
        elif value is not None:
            notes.append(f"option {key} ignored: expected {want[0]}, got {type(value).__name__}")
    return out, notes


def _unknown_option(key: str, known: frozenset[str], fmt: str) -> str:
    import difflib

    near = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
    return f"option {key} ignored: {fmt} reads no such option" + (f" ({near[0]}?)" if near else "")


def cleaned(fn):
    """Entry points (`parse`, `parse_table`, `parse_records`) get their options through `clean_options`, checked
    against the reader module's `OPTIONS`; what was dropped is added to the result's notes."""
    module = sys.modules.get(fn.__module__)
    known, fmt = getattr(module, "OPTIONS", None), getattr(module, "FORMAT", "this format")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        options, notes = clean_options(kwargs.get("options"), known, fmt)
        kwargs["options"] = options
        out = fn(*args, **kwargs)
        out.notes = notes + out.notes + probability_notes(out.predictions, options)
        return out
    return wrapper


def probability_notes(preds: pa.Table | None, options: Mapping[str, Any]) -> list[str]:
    """A model output that is one number between 0 and 1 with no `threshold` set is taken as the predicted class
    (`map_output`), so a classifier's accuracy against 0/1 labels reads 0 without a word (qa: SageMaker's
    `0.87` outputs): said once per chunk, with the option that reads them as scores."""
    if options.get("threshold") is not None or preds is None or "prediction_num" not in preds.column_names:
        return []
    import pyarrow.compute as pc

    nums = preds.column("prediction_num").drop_null()  # (every vendor chunk passes here: counted in Arrow)
    odd = nums.filter(pc.and_(pc.greater(nums, 0), pc.less(nums, 1)))
    if not len(odd) or len(odd) * 2 < len(nums):  # most outputs are fractions: class ids and regressions are not
        return []
    return [f"{len(odd):,} of {len(nums):,} outputs are numbers between 0 and 1 (such as {odd[0].as_py():g}) and no "
            f"threshold is set: each is taken as the predicted class; if they are a classifier's "
            f"probabilities, set options.threshold (such as 0.5) in this [[logs]] table to read them as scores"]
