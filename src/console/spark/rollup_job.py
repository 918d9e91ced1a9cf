"""The hourly rollup as a PySpark job, with Spark's built-in DataSketches aggregates.

Why built-ins rather than a pandas UDF running the Python sketches: `kll_sketch_agg_float`
(Spark >= 4.1) builds Apache DataSketches' KllFloatsSketch in the JVM with partial aggregation, so
an hour of a billion-row day is summarised across executors without ever holding a group's rows
in one pandas frame (applyInPandas ships every row of a group to one Python worker), and it writes
DataSketches' compact binary format, which the console's Python `datasketches` reads and merges
with its own. Sums, counts and confusion cells are plain aggregates; category counts are a
group-by per column, cut to each group's most frequent values in Spark (a regression's predictions
are nearly all distinct: the driver gets a few hundred values per group, not every row) and folded
to top N + other on the driver with the same code as the local engine. The prediction and label
summaries that prediction and label drift read (`store_rollups.TARGETS`) are built the same way: a
KLL sketch with sum and sum of squares of the numbers, counts by value and counts by text. The
rollup rows (kilobytes per model-hour) come back to the driver and are written by
`store_rollups.write`, so both engines write one file layout and one schema.

The rows reach Spark the way they reach the console (see `_read`): local folders, `s3://` prefixes,
Delta and Iceberg tables are listed and pruned on the driver by `rollup_sources`, and the tasks scan
the files with pyarrow in `mapInArrow`; no JVM connector or jar download is involved.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from console import rollup_sources as src
from console import store_rollups as ro
from console import rollup_summarise as rs
from console.analytics import sketches as sk
from console.spark.scan_task import reader

_SESSION = None
MASTER_WAIT_S = 5.0  # a master that takes no connection, or does not answer as Spark, within this is refused
# Spark's transport layer (network-common: MessageEncoder, Message.Type): a frame is its length (8 bytes, itself
# included), a type byte and the message; an RpcRequest (3) is a request id (8), its body's size (4), the body.
# Every Spark RPC endpoint, a standalone master among them, answers one with an RpcResponse (4) or an RpcFailure (5)
# carrying the same id (TransportRequestHandler.processRpcRequest). The body is a RequestMessage (core's
# NettyRpcEnv.RequestMessage.serialize: no sender address, no receiver address, the endpoint's name, then the
# content Java-serialized: here the string "probe") to an endpoint no RpcEnv has, so the master answers "Could not
# find mlops-console-probe." (Dispatcher.postMessage) without running anything or logging an error.
_RPC_REQUEST, _RPC_ANSWERS = 3, (4, 5)
_PROBE_NAME, _PROBE_CONTENT = b"mlops-console-probe", b"probe"
_PROBE_BODY = (b"\x00\x00" + len(_PROBE_NAME).to_bytes(2, "big") + _PROBE_NAME
               + b"\xac\xed\x00\x05\x74" + len(_PROBE_CONTENT).to_bytes(2, "big") + _PROBE_CONTENT)


class SparkUnavailable(ConnectionError):
    """The Spark master cannot be reached, or is not one: said in one line, before any JVM starts."""


class SparkJobFailed(ConnectionError):
    """A Spark job that started and failed: one line with the cause (a worker's own error, not the JVM's stack
    of hundreds of lines) and the log that holds the rest. A dependency's failure: exit code 4, as an
    unreachable master."""


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*$", re.M)


def job_error(exc: BaseException) -> str:
    """The line of a Spark failure that says why: a worker's first words (`Error from python worker:`), the last
    exception line of a Python traceback, else the JVM's deepest `Caused by:`, else its first line."""
    text = str(exc)
    said = re.search(r"Error from python worker:\s*\n\s*(\S.*)", text)
    if said:
        return said.group(1).strip()[:200]
    if "Traceback (most recent call last)" in text:
        python = text.split("Traceback (most recent call last)")[-1].split("JVM stacktrace:")[0]
        found = [m.group(0) for m in _ERROR_LINE.finditer(python)]
        if found:
            return found[-1].strip()[:200]
    causes = re.findall(r"Caused by: (\S.*)", text)
    if causes:
        return causes[-1].strip()[:200]
    return ((text.strip().splitlines() or [type(exc).__name__])[0])[:200]


def jvm_log() -> Path:
    """Where the JVM's output goes (its log4j lines, spark-submit's and the Python workers' output): a file
    the operator is told of, not their terminal. `MLOPS_CONSOLE_SPARK_LOG` overrides it."""
    from console.private_files import private_dir

    explicit = os.environ.get("MLOPS_CONSOLE_SPARK_LOG")
    if explicit:
        return Path(explicit)
    return private_dir(Path(tempfile.gettempdir()) / f"mlops-console-{os.getuid()}") / "spark-jvm.log"


def reach(master: str, wait_s: float = MASTER_WAIT_S) -> None:
    """Raises SparkUnavailable unless some host of a `spark://` master answers a Spark RPC request (`_speaks_spark`)
    within `wait_s`, or of an `sc://` master answers HTTP/2's connection preface as gRPC servers do (`_speaks_http2`;
    over TLS, `;use_ssl=true`, a TCP connection). Without this a master that is unreachable,
    or a host that accepts the connection but is not a Spark master (another service on the port), cost about
    60-70 s of the JVM's registration retries (3 x 20 s, fixed in Spark's StandaloneAppClient, not configurable)
    and its stack traces on the operator's terminal; a `local` master needs no network."""
    import socket
    from urllib.parse import urlsplit

    scheme, _, rest = master.partition("://")
    if scheme not in ("spark", "sc"):
        return
    default = 7077 if scheme == "spark" else 15002
    errors, refused = [], []
    for host in rest.split("/")[0].split(","):  # spark://a:7077,b:7077 (standby masters)
        parts = urlsplit(f"//{host.split(';')[0]}")
        try:
            address = (parts.hostname or "localhost", parts.port or default)
        except ValueError as exc:
            raise SparkUnavailable(f"Spark master {master}: {exc}") from None
        try:
            conn = socket.create_connection(address, timeout=wait_s)
        except OSError as exc:
            errors.append(f"{address[0]}:{address[1]} {getattr(exc, 'strerror', None) or exc}")
            continue
        with conn:  # (a TLS Spark Connect port, `;use_ssl=true`, is taken at its TCP connection)
            tls = "use_ssl=true" in rest.lower()
            why = _speaks_spark(conn, wait_s) if scheme == "spark" else None if tls else _speaks_http2(conn, wait_s)
        if why is None:
            return
        refused.append(f"{address[0]}:{address[1]} {why}")
    if refused:
        what = "a Spark master" if scheme == "spark" else "a Spark Connect (gRPC) server"
        raise SparkUnavailable(f"Spark master {master} is not {what} ({'; '.join(refused + errors)}; waited "
                               f"up to {wait_s:g} s per host); nothing was built, no JVM started")
    raise SparkUnavailable(f"Spark master {master} unreachable ({'; '.join(errors)}; waited up to "
                           f"{wait_s:g} s per host); nothing was built")


def _answer_head(conn, request: bytes, size: int, wait_s: float, protocol: str, article: str) -> bytes | str:
    """The first `size` bytes the peer on `conn` answers `request` with, within `wait_s`; else what it did
    instead, in a few words naming the `protocol` it was asked in ("a Spark answer", "no HTTP/2 answer")."""
    import socket
    import time

    head = b""
    deadline = time.monotonic() + wait_s
    try:
        conn.sendall(request)
        while len(head) < size:
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            got = conn.recv(size - len(head))
            if not got:
                return f"accepted the connection, then closed it without {article} {protocol} answer"
            head += got
    except socket.timeout:
        return f"accepted the connection but gave no {protocol} answer"
    except (ConnectionResetError, BrokenPipeError):  # a close racing our request: the same answer as a clean close
        return f"accepted the connection, then closed it without {article} {protocol} answer"
    except OSError as exc:
        return f"accepted the connection, then {getattr(exc, 'strerror', None) or exc}"
    return head


def _speaks_spark(conn, wait_s: float) -> str | None:
    """None when the peer on `conn` answers an RpcRequest as Spark's transport layer does (see `_RPC_REQUEST`),
    else what it did instead, in a few words. A Spark endpoint answers in milliseconds."""
    import struct

    rid = int.from_bytes(os.urandom(8), "big") >> 1
    request = struct.pack(">qbqi", 8 + 1 + 8 + 4 + len(_PROBE_BODY), _RPC_REQUEST, rid, len(_PROBE_BODY)) + _PROBE_BODY
    head = _answer_head(conn, request, 17, wait_s, "Spark", "a")  # the answer's frame length, type and request id
    if isinstance(head, str):
        return head
    length, kind, answered = struct.unpack(">qbq", head)
    if kind not in _RPC_ANSWERS or answered != rid or not 17 <= length < 1 << 20:
        return "answered, but not as Spark does"
    try:  # the rest of the answer read too, so that closing is a clean end, not a reset the master logs
        left = length - 17
        while left > 0 and (got := conn.recv(min(left, 65536))):
            left -= len(got)
    except OSError:
        pass
    return None


_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS frame


def _speaks_http2(conn, wait_s: float) -> str | None:
    """None when the peer on `conn` answers HTTP/2's client preface with a SETTINGS frame on stream 0, as every
    HTTP/2 server (gRPC's, so Spark Connect's) does first (RFC 9113 3.4), else what it did instead, in a few
    words. It tells a Spark Connect port from another service on it (HTTP/1, SSH, a database), not from
    another gRPC server: that one fails at the session's first call, in seconds too."""
    # the first frame's header: length (3), type (1), flags (1), stream (4)
    head = _answer_head(conn, _H2_PREFACE, 9, wait_s, "HTTP/2", "an")
    if isinstance(head, str):
        return head
    if head[3] != 4 or int.from_bytes(head[5:9], "big") & 0x7FFFFFFF:
        return "answered, but not as an HTTP/2 (gRPC) server does"
    return None


@contextlib.contextmanager
def _output_to(log: Path):
    """This process's stdout and stderr (file descriptors 1 and 2) go to `log` while the body runs: the JVM
    started then (and every process it starts) inherits them, so its output lands in the file for good, and
    the terminal gets only the console's own lines."""
    from console.private_files import open_private

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open_private(log, "a") as fh:
        fh.write(f"--- mlops-console: Spark session started by pid {os.getpid()}\n")
        fh.flush()
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def session(master: str = "local[2]"):
    """One SparkSession per process (a JVM start costs seconds). The JVM's output goes to `jvm_log()`; a
    session that fails to start is one line naming the master and that file."""
    global _SESSION
    if _SESSION is None:
        reach(master)
        from pyspark.sql import SparkSession

        # Memory: the JVM heap is capped (the chunk's rows are kept on disk, not in it: see `build`), its
        # off-heap parts are bounded, and the JVM and the Python workers it starts (which inherit this
        # environment) use few malloc arenas and Arrow's system allocator, which hands freed batches back.
        # One Python worker daemon (no Python RDD: see `_read`), its workers light (`scan_task`): the tree
        # of this process, the JVM and the workers peaked at 1.82 GB on a 3.3M-row day (benchmarks/README.md).
        import warnings

        # PySpark's pandas-version warning: about pandas UDFs, which the job does not use (`_read`: mapInArrow)
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        if master.startswith("local"):
            # the workers run on this box: in this interpreter, which has the console's packages (Spark's
            # default is the `python3` on PATH, outside a virtualenv: "No module named 'pyarrow'")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        log = jvm_log()
        try:
            with _output_to(log):
                _SESSION = (SparkSession.builder.master(master).appName("mlops-console-rollup")
                            .config("spark.driver.memory", os.environ.get("MLOPS_CONSOLE_SPARK_DRIVER_MEMORY", "768m"))
                            .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:MaxDirectMemorySize=384m "
                                                                     "-XX:ReservedCodeCacheSize=96m -XX:MaxMetaspaceSize=256m")
                            .config("spark.ui.enabled", "false")
                            .config("spark.sql.session.timeZone", "UTC")
                            .config("spark.sql.shuffle.partitions", "8")
                            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                            .getOrCreate())
        except Exception as exc:  # noqa: BLE001 - the JVM's own words are in the log; the operator gets one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise SparkUnavailable(f"Spark master {master}: no Spark session ({first}); JVM output in {log}") from None
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def _plain(t: pa.DataType) -> pa.DataType:
    """The Arrow type a column crosses into Spark as: no dictionaries, views or large strings, no nulls
    without a type, and naive timestamps read as UTC."""
    if pa.types.is_dictionary(t):
        return _plain(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(_plain(t.value_type))
    return t


def target_schema(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The conformed schema every piece is aligned to (the union of the sources' columns)."""
    conformed = src.unified_schema(schemas)
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in conformed])


def pieces(items: Sequence, start: datetime, end: datetime) -> tuple[list[tuple], pa.Schema]:
    """The files (pyarrow fragments, with the schema and filter to scan them by) that can hold rows of
    [start, end), listed and pruned on the driver with the console's own source access; a source that
    is only in memory (an Iceberg table pyiceberg had to merge deletes into) is shipped as Arrow."""
    items = [i if isinstance(i, ds.Dataset) else src.sources([i])[0] for i in items]
    datasets = src.open_all(items, start, end)
    out: list[tuple] = []
    for d in datasets:
        expr = src.time_filter(d, start, end)
        for frag in d.get_fragments(filter=expr) if expr is not None else d.get_fragments():
            if isinstance(frag, src.RenamedPiece):  # a Parquet log under its own names: read by them, renamed
                out.append((d.dataset.schema, expr, frag))
            elif isinstance(frag, (ds.FileFragment, src.TextFile)):  # a text file: parsed by its task
                out.append((d.schema, expr, frag))
            else:
                t = frag.to_table(schema=d.schema, filter=expr)
                if t.num_rows:
                    out.append((d.schema, None, t))
    return out, target_schema([d.schema for d in datasets] or [pa.schema([("ts", pa.timestamp("us")),
                                                                            ("model", pa.string())])])


def _parallelism(spark) -> int:
    try:
        return max(1, spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return 2


def _read(spark, items: Sequence, start: datetime, end: datetime):
    """Prediction rows of [start, end) as a DataFrame, read by the Spark tasks through pyarrow.

    Why not `spark.read.parquet("s3a://...")`: s3a needs hadoop-aws and the AWS SDK bundle, jars Spark
    downloads at run time (`spark.jars.packages`), which an offline ops box cannot; and Delta or Iceberg
    through Spark need their own runtime jars. Here the driver lists and prunes the files with the
    console's own source access (one S3 identity, delta-rs, pyiceberg) and each task scans its files
    with pyarrow (its S3 client ships in the wheel) inside `mapInArrow`, so the rows go from the
    files into Spark's aggregates without passing through the driver. The cost: pyarrow and this
    package must be installed where the executors run, and the S3 identity travels to them in the
    task closure (as Spark's own s3a keys would in its configuration).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    todo, schema = pieces(items, start, end)
    spark_schema = from_arrow_schema(schema, prefer_timestamp_ntz=False)
    if todo:
        n = min(len(todo), 4 * _parallelism(spark))
        # spark.range, not createDataFrame(list): a local list becomes a Python RDD, which starts a second
        # Python worker daemon (with its own workers) just to turn the indexes into rows.
        ids = spark.range(len(todo)).withColumnRenamed("id", "i").repartition(n, "i")
        df = ids.mapInArrow(reader(todo, schema, start, end), spark_schema)
    else:
        df = spark.createDataFrame([], spark_schema)
    for c in ("version", "environment", "variant"):
        if c not in df.columns:
            df = df.withColumn(c, F.lit(None).cast("string"))
    return df.withColumn("ts", F.col("ts").cast("timestamp")).where(F.col("ts").isNotNull() & F.col("model").isNotNull())


def _finite_double(c):
    """A column's (or expression's) finite values as doubles, null otherwise (text that is no number too,
    as the local engine's non-strict cast makes it, where a plain cast fails under ANSI mode)."""
    from pyspark.sql import functions as F

    x = (F.col(c) if isinstance(c, str) else c).try_cast("double")
    return F.when(~F.isnan(x) & (F.abs(x) != float("inf")), x)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite(c):
    """The float32 value a sketch holds: finite values clipped to float32's range, as the local engine's
    `_float_column` clips them (a plain cast would make them infinite); null stays null (`greatest` skips it)."""
    from pyspark.sql import functions as F

    x = _finite_double(c)
    return F.when(x.isNotNull(), F.least(F.greatest(x, F.lit(-_FLOAT32_MAX)), F.lit(_FLOAT32_MAX))).cast("float")


def _target_number(df, t: str):
    """A target's numbers as the local engine takes them (`rollup_summarise._targets_into`): a row's
    `prediction_num` (`label_num`), else its prediction's (label's) text as a number."""
    from pyspark.sql import functions as F

    num, text = ro.TARGETS[t]
    # as the store casts text (`rollup_summarise.text_number`): around it the spaces DuckDB skips, within it what Polars parses;
    # Spark's own cast also takes "1d" and a control character around the number
    s = F.regexp_replace(F.col(text).cast("string"), f"^[{_SPACE}]+|[{_SPACE}]+$", "")
    x = F.when(s.rlike(_POLARS_FLOAT), s.try_cast("double"))
    return F.coalesce(F.col(num).try_cast("double"), x) if num in df.columns else x


def _target_counts(df) -> dict[str, object]:
    """The counted columns of the target summaries: the finite numbers by value (re-keyed as the local engine
    keys them: `_counts`' `by_value`), and the text of predictions that are no number and of every label."""
    from pyspark.sql import functions as F

    out = {}
    for t, (_, text) in ro.TARGETS.items():
        if text not in df.columns:
            continue
        x = _target_number(df, t)
        out[f"{t}_counts"] = _finite_double(x).cast("string")
        counted = F.col(text).isNotNull() & (x.isNull() if t == "pred" else F.lit(True))
        out[f"{t}_text"] = F.when(counted, F.col(text).cast("string"))
    return out


def _aggregates(df, spec: ro.ModelSpec, k: int) -> list:
    from pyspark.sql import functions as F

    def kll(col):
        return F.kll_sketch_agg_float(col, k)

    def fsum(col):  # the float32 value the sketch holds, summed in double as the local engine does
        return F.coalesce(F.sum(col.cast("double")), F.lit(0.0))

    aggs = [F.count(F.lit(1)).alias("rows"), F.sum(F.col("is_error").cast("long")).alias("errors")]
    for name, col in (("latency", "latency_ms"), ("score", "score")):
        if col in df.columns:
            aggs += [kll(_finite(col)).alias(f"{name}_kll"), fsum(_finite(col)).alias(f"{name}_sum")]
    for c in ("input_tokens", "output_tokens"):
        if c in df.columns:
            aggs.append(F.coalesce(F.sum(F.col(c).cast("long")), F.lit(0)).alias(c))
    aggs += _usage(df)
    has_label = "label" in df.columns
    if has_label:
        lab = F.col("label").isNotNull()
        aggs.append(F.sum(lab.cast("long")).alias("labelled"))
        if ro.LABEL_TS in df.columns:  # the newest arrival of the labels counted (`store_rollups.LABEL_TS`)
            aggs.append(F.max(F.when(lab, F.col(ro.LABEL_TS))).alias(ro.LABEL_TS))
        if spec.task == "classification":  # as analytics.quality.count_aggs counts them
            y = _is_value(F.col("label"), spec.positive_label)
            pred = F.col("prediction").cast("string")
            p = _is_value(pred, spec.positive_label)
            used = lab & pred.isNotNull()
            for name, cond in (("tp", y & p), ("fp", ~y & p), ("fn", y & ~p), ("tn", ~y & ~p),
                               ("correct", _same_value(F.col("label"), pred))):
                aggs.append(F.coalesce(F.sum((used & cond).cast("long")), F.lit(0)).alias(f"cls_{name}"))
            if "score" in df.columns:  # a classifier logging no score has no histograms (the local engine's None)
                score = F.col("score").try_cast("double")  # as analytics.quality.score_hist buckets it
                bucket = F.least(F.greatest(F.floor(score * ro.BUCKETS), F.lit(0)), F.lit(ro.BUCKETS - 1))
                scored = lab & score.isNotNull() & ~F.isnan(score)
                aggs.append(F.sum(scored.cast("long")).alias("__scored"))
                for name, cls in (("pos", y), ("neg", ~y)):
                    aggs.append(F.array(*[F.sum((scored & cls & (bucket == i)).cast("long"))
                                          for i in range(ro.BUCKETS)]).alias(f"cls_{name}_hist"))
        elif spec.task == "regression":
            pred = F.col("prediction_num").cast("double") if "prediction_num" in df.columns else \
                F.col("prediction").cast("double")
            actual = F.col("label_num").cast("double")
            ok = lab & pred.isNotNull() & actual.isNotNull() & ~F.isnan(pred) & ~F.isnan(actual)
            err = F.when(ok, pred - actual)
            nz = ok & (actual != 0)
            aggs += [F.sum(ok.cast("long")).alias("reg_n"),
                     F.coalesce(F.sum(F.abs(err)), F.lit(0.0)).alias("reg_abs_sum"),
                     F.coalesce(F.sum(err * err), F.lit(0.0)).alias("reg_sq_sum"),
                     F.coalesce(F.sum(F.when(nz, F.abs(err) / F.abs(actual))), F.lit(0.0)).alias("reg_ape_sum"),
                     F.sum(nz.cast("long")).alias("reg_ape_n"),
                     kll(err.cast("float")).alias("reg_err_kll")]
    def sq(col):
        return F.coalesce(F.sum(col.cast("double") * col.cast("double")), F.lit(0.0))

    for t, (_, text) in ro.TARGETS.items():  # prediction and label drift's numbers (`store_rollups.TARGETS`)
        if text in df.columns:
            v = _finite(_target_number(df, t))
            aggs += [kll(v).alias(f"{t}_kll"), fsum(v).alias(f"{t}_sum"), sq(v).alias(f"{t}_sq")]
    for f in spec.numeric:
        if f in df.columns:
            v = _finite(f)
            aggs += [kll(v).alias(f"num__{f}"), fsum(v).alias(f"sum__{f}"), sq(v).alias(f"sq__{f}")]
    return aggs


def _is_value(col, value: str):
    """`analytics.quality.is_value`: equal as numbers when the value parses as one, else as text."""
    from pyspark.sql import functions as F

    text = col.cast("string") == F.lit(value)
    number = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}.get(value.lower())
    if number is None:
        try:
            number = float(value)
        except ValueError:
            return text
    x = _number(col)
    return F.when(x.isNotNull(), x == F.lit(number)).otherwise(text)


# the text Polars parses as a float (`analytics.quality._number` casts with it): Spark's cast also takes " 1 " (it trims)
# and "1d" (Java's suffix), so the Spark job counted them as the class "1" where the raw path and the local engine do not
_POLARS_FLOAT = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|(?i:inf|infinity|nan))$"
_SPACE = "".join(f"\\x{ord(c):02x}" for c in rs.NUMBER_SPACE)  # as a Java regex class's members


def _number(col):
    """`analytics.quality._number`: a number's text (as Polars parses it: `_POLARS_FLOAT`), or a boolean's (`true`
    1, `false` 0)."""
    from pyspark.sql import functions as F

    text = col.cast("string")
    lower = F.lower(text)
    return F.coalesce(F.when(text.rlike(_POLARS_FLOAT), text.try_cast("double")),
                      F.when(lower.isin("true", "yes"), F.lit(1.0)).when(lower.isin("false", "no"), F.lit(0.0)))


def _same_value(a, b):
    """`analytics.quality.same_value`: two columns agree as numbers when both parse, else as text."""
    from pyspark.sql import functions as F

    na, nb = _number(a), _number(b)
    return F.when(na.isNotNull() & nb.isNotNull(), na == nb).otherwise(a.cast("string") == b.cast("string"))


def _usage(df) -> list:
    """`analytics.cost.usage_aggs` in Spark: logged costs (finite ones) and their count, and over the
    requests without one the input past the cached share, cached and output tokens."""
    from pyspark.sql import functions as F

    def tok(c):
        return F.coalesce(F.col(c).cast("double"), F.lit(0.0)) if c in df.columns else F.lit(0.0)

    if "cost_usd" in df.columns:
        cost = F.col("cost_usd").cast("double")
        logged = F.when(~F.isnan(cost) & (F.abs(cost) != float("inf")), cost)
    else:
        logged = F.lit(None).cast("double")
    bare = logged.isNull()
    inp, out, cached = tok("input_tokens"), tok("output_tokens"), tok("cached_tokens")

    def total(expr):
        return F.coalesce(F.sum(F.when(bare, expr).otherwise(F.lit(0.0))), F.lit(0.0))

    return [F.coalesce(F.sum(logged), F.lit(0.0)).alias("cost_usd"),
            F.coalesce(F.sum(logged.isNotNull().cast("long")), F.lit(0)).alias("cost_n"),
            total(F.greatest(inp - cached, F.lit(0.0))).alias("uncosted_input"), total(cached).alias("uncosted_cached"),
            total(out).alias("uncosted_output")]


def _counts(df, keys: list[str], columns: dict[str, object], tops: dict[str, int],
            by_value: frozenset[str] = frozenset(), keep: int = 4 * sk.TOP_N,
            floats: Mapping[str, str] | None = None) -> dict[str, dict[tuple, str]]:
    """{output column: {group key: encoded top-N counts}} for several categorical expressions in one
    pass (a stack of (column, value) pairs grouped once), folded on the driver. Columns in `by_value`
    come as Java's text of a double ("1.0E7") and are re-keyed as the local engine keys them; columns in
    `floats` (output column: Spark type, "double" or "float") are a float column's text, re-keyed as the local
    engine's Polars cast writes it (`_float_text`: "10000000.0", "inf", not "1.0E7", "Infinity").

    Each group's values past its `keep` most frequent (ties by value) are summed into other in Spark, as
    the local engine's `_count_top` cuts them: a regression's predictions are nearly all distinct, and
    every one of them would otherwise cross to the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    pairs = F.explode(F.array(*[F.struct(F.lit(name).alias("c"), expr.alias("v")) for name, expr in columns.items()]))
    counted = (df.select(*keys, pairs.alias("__p")).select(*keys, "__p.c", "__p.v").where(F.col("v").isNotNull())
               .groupBy(*keys, "c", "v").agg(F.count(F.lit(1)).alias("n")))
    rank = F.row_number().over(Window.partitionBy(*keys, "c").orderBy(F.col("n").desc(), F.col("v")))
    value = F.when(rank <= keep, F.col("v")).otherwise(F.lit(sk.OTHER))
    rows = (counted.select(*keys, "c", value.alias("v"), "n").groupBy(*keys, "c", "v")
            .agg(F.sum("n").alias("n")).toArrow().to_pylist())
    per: dict[str, dict[tuple, dict[str, int]]] = {name: {} for name in columns}
    for r in rows:
        per[r["c"]].setdefault(tuple(r[k] for k in keys), {})[r["v"]] = r["n"]
    floats = floats or {}

    def keyed(name: str, c: dict[str, int]) -> dict[str, int]:
        return _float_keys(c) if name in by_value else _text_keys(c, floats[name]) if name in floats else c

    return {name: {key: sk.encode_counts(sk._top(keyed(name, c), tops[name]))
                   for key, c in groups.items()} for name, groups in per.items()}


FLOAT_TYPES = ("double", "float")  # Spark's type names of the columns `_float_text` re-keys


def _float_text(values: Sequence[str | None], spark_type: str) -> list[str | None]:
    """Java's text of a float column's values ("1.0E7", "Infinity", Spark's cast to string) as the local engine
    writes the same values (a Polars cast to text of the column: "10000000.0", "inf"), so a float segment's
    values and a float column counted as a category are keyed alike by both engines. Java's text of a double
    reads back as the same double (and of a float as the same float32)."""
    import polars as pl

    dtype = pl.Float32 if spark_type == "float" else pl.Float64
    return pl.Series("v", [None if v is None else float(v) for v in values], dtype).cast(pl.String).to_list()


def _text_keys(counts: dict[str, int], spark_type: str) -> dict[str, int]:
    """Counts keyed by Java's text of a float column's values, keyed by the local engine's text (`_float_text`)."""
    keys = [k for k in counts if k != sk.OTHER]
    out: dict[str, int] = {sk.OTHER: counts[sk.OTHER]} if sk.OTHER in counts else {}
    for k, text in zip(keys, _float_text(keys, spark_type)):
        out[text] = out.get(text, 0) + counts[k]
    return out


def _float_keys(counts: dict[str, int]) -> dict[str, int]:
    """Counts keyed by Java's text of a double, keyed by `store_rollups.category_text` instead."""
    import polars as pl

    keys = [k for k in counts if k != sk.OTHER]
    out: dict[str, int] = {sk.OTHER: counts[sk.OTHER]} if sk.OTHER in counts else {}
    for k, text in zip(keys, ro.category_text(pl.Series("v", [float(k) for k in keys], pl.Float64), True)):
        out[text] = out.get(text, 0) + counts[k]
    return out


def label_frame(spark, labels: pa.Table | None):
    """The latest label per request id (as the local engine and `quality.join_labels` take it) as a Spark
    DataFrame, None without labels. Every label, whenever logged: a label stamped before its prediction joins it,
    as on the raw path (`rollup_engine.chunk_labels`)."""
    latest = rs._labels_frame(labels)
    if latest is None:
        return None
    return spark.createDataFrame(latest.to_arrow().to_pandas(),
                                 f"request_id string, label string, label_num double, {ro.LABEL_TS} timestamp")


def build(spark, paths: Sequence, labels, specs: Mapping[str, ro.ModelSpec],
          start: datetime, end: datetime, k: int = sk.K, top: int = sk.TOP_N) -> dict[str, pa.Table]:
    """Rollup tables per model for [start, end), the schema of `store_rollups.schema_for`. `labels`: a table, or
    `label_frame`'s DataFrame (made once per run, not per range)."""
    from pyspark.sql import functions as F

    df = _read(spark, paths, start, end)
    df = df.withColumn("hour", F.date_trunc("hour", F.col("ts")))
    df = df.withColumn(ro.ON_HOUR, F.col("ts") == F.col("hour"))  # the hour's first instant apart (`ro.ON_HOUR`)
    lab = label_frame(spark, labels) if labels is None or isinstance(labels, pa.Table) else labels
    if lab is not None:
        df = df.drop(*[c for c in ("label", "label_num", ro.LABEL_TS) if c in df.columns]).join(lab, "request_id",
                                                                                                "left")
    # The chunk's rows are read once and kept on disk for the per-model aggregations, not in the JVM heap:
    # cached in memory they fill the heap to its storage share (and the JVM keeps what it grew to).
    from pyspark import StorageLevel

    df = df.persist(StorageLevel.DISK_ONLY)
    models = [r[0] for r in df.select("model").distinct().collect()]
    out = {}
    for model in sorted(set(models) | set(specs)):
        spec = specs.get(model) or ro.ModelSpec()
        mdf = df.where(F.col("model") == model)
        # The whole group and each segment value's, as one DataFrame: one aggregation per model.
        cut = mdf.withColumn("segment", F.lit(None).cast("string")).withColumn("segment_value",
                                                                                 F.lit(None).cast("string"))
        for seg in (s for s in spec.segments if s in df.columns):
            cut = cut.unionByName(mdf.withColumn("segment", F.lit(seg)).withColumn(
                "segment_value", F.col(seg).cast("string")).where(F.col("segment_value").isNotNull()))
        keys = ["version", "environment", "variant", "hour", "segment", "segment_value", ro.ON_HOUR]
        table = cut.groupBy(*keys).agg(*_aggregates(cut, spec, k)).toArrow()
        status = F.when(F.col("is_error"), F.coalesce(F.col("error").cast("string") if "error" in cut.columns
                                                      else F.lit(None).cast("string"), F.lit("error"))) \
            .otherwise(F.lit(ro.OK_STATUS))
        columns = {"status": status, **{f"cat__{f}": _finite_double(f).cast("string") if f in spec.by_value
                                        else F.col(f).cast("string") for f in spec.categorical if f in cut.columns},
                   **_target_counts(cut)}
        types = dict(cut.dtypes)
        floats = {f"cat__{f}": types[f] for f in spec.categorical
                  if f in types and f not in spec.by_value and types[f] in FLOAT_TYPES}
        extra = _counts(cut, keys, columns, {c: ro.STATUS_TOP if c == "status" else top for c in columns},
                        frozenset({*(f"cat__{f}" for f in spec.by_value), *(f"{t}_counts" for t in ro.TARGETS)}),
                        keep=4 * top, floats=floats)
        float_segments = {s: types[s] for s in spec.segments if types.get(s) in FLOAT_TYPES}
        parts = [_assemble(table, keys, model, extra, spec, float_segments)]
        tables = [p for p in parts if p.num_rows]
        t = pa.concat_tables(tables) if tables else ro.empty_table(spec)
        out[model] = _sorted(t)
    df.unpersist()
    return out


_TARGET_SUMS = tuple(f"{t}_{p}" for t in ro.TARGETS for p in ("sum", "sq"))  # 0.0 when a target is not logged


def _assemble(table: pa.Table, keys: list[str], model: str, extra: dict,
              spec: ro.ModelSpec, float_segments: Mapping[str, str] | None = None) -> pa.Table:
    """The rollup rows of `table` (Spark's aggregates) with the counts of `extra`, in the rollup schema. A segment
    whose column is a float (`float_segments`: name to Spark type) has its values keyed as the local engine
    writes them (`_float_text`)."""
    schema = ro.schema_for(spec)
    rows = table.to_pylist()
    cols: dict[str, list] = {name: [] for name in schema.names}
    for r in rows:
        key = tuple(r[k] for k in keys)
        r = dict(r)
        r["model"] = model
        if float_segments and r.get("segment") in float_segments and r.get("segment_value") is not None:
            r["segment_value"] = _float_text([r["segment_value"]], float_segments[r["segment"]])[0]
        for name, per in extra.items():
            r[name] = per.get(key)
        scored = r.pop("__scored", None)
        for name in ("cls_pos_hist", "cls_neg_hist"):
            if not scored:
                r[name] = None
        for name in schema.names:
            v = r.get(name)
            if schema.field(name).type == pa.binary() and v is not None:
                s = sk.deserialize(bytes(v))  # Spark gives an empty sketch where Python gives none
                v = None if s is None or s.is_empty() else bytes(v)
            if v is None and name in ro.INT_SUMS:
                v = 0
            if v is None and name in (*ro.FLOAT_SUMS, "latency_sum", "score_sum", *_TARGET_SUMS) or (
                    v is None and name.startswith(("sum__", "sq__"))):
                v = 0.0
            cols[name].append(v)
    return pa.table(cols, schema=schema)


def _sorted(t: pa.Table) -> pa.Table:
    import polars as pl

    if not t.num_rows:
        return t
    df = pl.from_arrow(t).sort(["hour", "version", "environment", "variant", "segment", "segment_value", ro.ON_HOUR],
                               nulls_last=False)
    return df.to_arrow().cast(t.schema)


def _from_spark(exc: BaseException) -> bool:
    """Py4J's Java errors and PySpark's own (`PySparkException`: a worker's Python error, an analysis error)."""
    names = {f"{c.__module__}.{c.__name__}" for c in type(exc).__mro__}
    return "py4j.protocol.Py4JJavaError" in names or any(n.startswith("pyspark.errors.") for n in names)


def builder(paths: Sequence, labels: pa.Table | None, specs: Mapping[str, ro.ModelSpec],
            master: str = "local[2]", k: int = sk.K, on_start: Callable[[], None] | None = None) -> ro.Builder:
    """`on_start()` once the session is up (the caller says where the JVM's output goes)."""
    started: list = []  # the session and the labels, at the first range to build: nothing to build starts no JVM

    def run(start: datetime, end: datetime) -> dict[str, pa.Table]:
        if not started:
            started.append(session(master))
            if on_start is not None:
                on_start()
        spark = started[0]
        try:
            if len(started) == 1:  # every label, sent to the JVM once (a range took those from an hour before it)
                started.append(label_frame(spark, labels))
            return build(spark, paths, started[1], specs, start, end, k=k)
        except Exception as exc:  # noqa: BLE001 - only Spark's own failures are said here; ours go up as they are
            if not _from_spark(exc):
                raise
            raise SparkJobFailed(f"Spark job on {master} failed: {job_error(exc)}; JVM output in {jvm_log()}") from None

    return run
