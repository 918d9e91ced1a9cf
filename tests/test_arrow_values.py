"""pyarrow's pandas shim kept from importing pandas, and pandas still there when something asks for it."""

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_reading_a_log_imports_no_pandas_and_to_pandas_still_works(tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text("".join(f'{{"ts": "2026-07-01T00:00:{i:02d}Z", "model": "m", "prediction": {i}}}\n'
                           for i in range(60)) * 2)
    out = _run(f"""
import sys
import pyarrow as pa, pyarrow.compute as pc
from console.store import parse
tables, rejected = parse.jsonl(open({str(log)!r}, 'rb').read(), source='p.jsonl', first_line=0)
pc.less_equal(pa.array([1, 20]), 16)
print(sum(t.num_rows for t in tables), len(rejected), 'pandas' in sys.modules)
df = tables[0].to_pandas()
import pandas as pd
print(type(df).__name__, pa.array(pd.Series([1, 2], dtype='category')).type)
""")
    assert out.splitlines() == ["120 0 False", "DataFrame dictionary<values=int64, indices=int8, ordered=0>"]


def test_a_process_that_imported_pandas_first_is_left_as_it_is():
    out = _run("""
import pandas as pd, pyarrow as pa
from console.arrow_values import keep_pandas_out
keep_pandas_out()
print(pa.array(pd.Series([1, 2], dtype='category')).type)
""")
    assert out == "dictionary<values=int64, indices=int8, ordered=0>"


def test_pyarrow_first_imported_by_anything_after_the_console_keeps_pandas_out():
    """One look, when pyarrow is first imported (`console.arrow_values.watch`, called by `console/__init__`), whoever
    imports it: here DuckDB's Arrow export, after a mere lookup of pyarrow's spec (as `answer_memo` stamps the
    libraries), which must not end the watch. Without the console, the same calls import pandas."""
    code = """
import sys, importlib.util
{prelude}
importlib.util.find_spec('pyarrow')
import duckdb
table = duckdb.sql('select 1 as x').to_arrow_table()
import pyarrow as pa, pyarrow.compute as pc
pc.less_equal(pa.array([1, 20]), 16)
print('pandas' in sys.modules, table.num_rows, type(table.to_pandas()).__name__)
"""
    assert _run(code.format(prelude="import console")) == "False 1 DataFrame"
    assert _run(code.format(prelude="")) == "True 1 DataFrame"
