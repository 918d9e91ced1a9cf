"""The byte counts a refresh relies on, counted with numpy a block at a time for speed, equal Python's own
`bytes.count` (the oracle) for any bytes and any block size; and the line count a chunk carries to the reader
equals its body's newlines, a CSV header taken off included."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from console.sources.files import Tailer, count_newlines
from console.store.parse import _count_key_ends

# bytes drawn mostly from the ones that matter, so pairs and block edges are hit often
BYTES = st.binary(max_size=200) | st.lists(st.sampled_from([b'"', b":", b"\n", b"a", b'":']), max_size=120).map(
    b"".join)


@settings(max_examples=300, deadline=None)
@given(body=BYTES, block=st.integers(1, 70))
def test_key_ends_count_equals_bytes_count(body, block):
    assert _count_key_ends(body, block) == body.count(b'":')


@settings(max_examples=300, deadline=None)
@given(body=BYTES, block=st.integers(1, 70))
def test_newline_count_equals_bytes_count(body, block):
    assert count_newlines(body, block) == body.count(b"\n")


def test_a_chunk_carries_its_bodys_line_count(tmp_path: Path):
    jsonl, csv = tmp_path / "a.jsonl", tmp_path / "b.csv"
    jsonl.write_bytes(b'{"a":1}\n' * 50 + b'{"a":2}')  # an unterminated last line waits: not in the body
    csv.write_bytes(b"a,b\n" + b"1,2\n" * 40)
    for path, headers in ((jsonl, False), (csv, True)):
        chunks = list(Tailer({}, max_chunk_bytes=64, csv_headers=headers).scan([str(path)]))
        assert chunks and sum(c.lines for c in chunks) == (50 if not headers else 40)
        assert all(c.lines == c.body.count(b"\n") for c in chunks)
