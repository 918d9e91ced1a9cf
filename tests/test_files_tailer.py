"""The tailer knows files by identity: rotations, copytruncate, replacement and paused writers lose and double nothing."""

from __future__ import annotations

import hashlib
import json
import os
import time
import re
import shutil
from pathlib import Path

import pytest

from console.sources.files import TRUNCATED, FileCursor, Tailer, key_of

ROW = re.compile(rb'^\{"id": (\d+)\}$', re.M)


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def write(path: Path, ids, mode: str = "a", tail: str = "") -> None:
    with open(path, mode) as fh:
        fh.write("".join(f'{{"id": {i}}}\n' for i in ids) + tail)


def scan(state: dict, patterns: list[str], clock: Clock | None = None, **kw):
    t = Tailer(state, wall=clock or Clock(), **kw)
    chunks = list(t.scan([str(p) for p in patterns]))
    return chunks, t.state_after(), t


def ids(chunks) -> list[int]:
    return [int(m) for c in chunks for m in ROW.findall(c.body)]


def test_reads_complete_new_lines_and_an_unchanged_scan_yields_nothing(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(3), "w", tail='{"id": 3')
    chunks, state, _ = scan({}, [p])
    assert ids(chunks) == [0, 1, 2]
    assert chunks[0].first_line == 1 and chunks[0].start_of_file and chunks[0].body.endswith(b"\n")
    (cur,) = state.values()
    assert (cur.offset, cur.line_no) == (len(p.read_bytes()) - len('{"id": 3'), 3)
    assert cur.fp == hashlib.sha1(p.read_bytes()).hexdigest() and cur.fp_len == p.stat().st_size
    write(p, [], tail="}\n")
    write(p, range(4, 6))
    chunks, state, _ = scan(state, [p])
    assert ids(chunks) == [3, 4, 5] and chunks[0].first_line == 4 and not chunks[0].start_of_file
    chunks, state2, _ = scan(state, [p])
    assert chunks == [] and state2[key_of(cur.dev, cur.ino)].offset == p.stat().st_size


def test_rename_rotation_to_a_matched_name_reads_the_old_rest_then_the_new_file(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(100), "w")
    chunks, state, _ = scan({}, [tmp_path / "*.jsonl"])
    assert ids(chunks) == list(range(100))
    write(p, range(100, 150))  # appended just before the rotation
    p.rename(tmp_path / "p-1.jsonl")
    write(p, range(150, 400), "w")  # the new file already longer than the old offset
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"])
    assert ids(chunks) == list(range(100, 400))
    assert [c.path for c in chunks] == [str(tmp_path / "p-1.jsonl"), str(p)]
    assert chunks[0].first_line == 101 and chunks[1].first_line == 1
    assert t.notes == []
    assert ids(scan(state, [tmp_path / "*.jsonl"])[0]) == []


def test_rename_rotation_to_an_unmatched_name_is_followed_to_its_end(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(100), "w")
    _, state, _ = scan({}, [p])
    write(p, range(100, 120))
    p.rename(tmp_path / "p.jsonl.1")
    write(p, range(120, 400), "w")
    chunks, state, t = scan(state, [p])
    assert ids(chunks) == list(range(100, 400))
    assert t.notes == [f"{p}: rotated to {tmp_path / 'p.jsonl.1'}, reading its rest"]
    with open(tmp_path / "p.jsonl.1", "a") as fh:  # the writer finishes on its old descriptor
        fh.write('{"id": 400}\n')
    chunks, state, t = scan(state, [p])
    assert ids(chunks) == [400] and t.notes == []
    (tmp_path / "p.jsonl.1").rename(tmp_path / "p.jsonl.2")  # rotated again, further away
    write(tmp_path / "p.jsonl.2", [401])
    assert ids(scan(state, [p])[0]) == [401]


@pytest.mark.parametrize("copy_name", ["p.jsonl.1", "p-1.jsonl"])
def test_copytruncate_reads_the_rest_from_the_copy_and_restarts_the_regrown_file(tmp_path, copy_name):
    p = tmp_path / "p.jsonl"
    write(p, range(100), "w")
    _, state, _ = scan({}, [tmp_path / "*.jsonl"])
    write(p, range(100, 130))  # appended before the copy: read from the copy, once
    shutil.copyfile(p, tmp_path / copy_name)
    with open(p, "r+") as fh:
        fh.truncate(0)
    write(p, range(130, 400))  # regrew past the old offset before the scan
    assert p.stat().st_size > state[key_of(p.stat().st_dev, p.stat().st_ino)].offset
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"])
    assert sorted(ids(chunks)) == list(range(100, 400)) and len(ids(chunks)) == 300
    assert chunks[0].path == str(tmp_path / copy_name) and chunks[0].first_line == 101
    assert f"{p}: truncated or written anew (copytruncate, or a new file on the old one's inode), reading it from the start" in t.notes
    assert ids(scan(state, [tmp_path / "*.jsonl"])[0]) == []


def test_a_file_replaced_by_another_restarts_at_zero(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(50), "w")
    _, state, _ = scan({}, [p])
    new = tmp_path / "p.tmp"
    write(new, range(50, 200), "w")
    os.replace(new, p)
    chunks, state, t = scan(state, [p])
    assert ids(chunks) == list(range(50, 200))
    assert t.notes == [f"{p}: replaced by a new file, reading it from the start; the old one is not in its folder "
                       "any more: rows written to it after the last read may be lost (rotate into the same folder "
                       "to keep them)"]


def test_a_reused_inode_with_other_content_restarts_at_zero(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(40), "w")
    st = p.stat()
    other = b'{"id": -1}\n' * 30  # what the deleted file that had this inode held
    stale = FileCursor(path=str(tmp_path / "gone.jsonl"), dev=st.st_dev, ino=st.st_ino, fp_len=len(other),
                       fp=hashlib.sha1(other).hexdigest(), offset=len(other), line_no=30, gone_since=None)
    chunks, state, _ = scan({key_of(st.st_dev, st.st_ino): stale}, [p])
    assert ids(chunks) == list(range(40)) and chunks[0].first_line == 1
    assert state[key_of(st.st_dev, st.st_ino)].path == str(p)


def test_a_deleted_file_is_noted_kept_a_while_then_dropped(tmp_path):
    clock = Clock()
    p, q = tmp_path / "p.jsonl", tmp_path / "q.jsonl"
    write(p, range(10), "w")
    write(q, range(10, 20), "w")
    _, state, _ = scan({}, [tmp_path / "*.jsonl"], clock)
    key = key_of(p.stat().st_dev, p.stat().st_ino)
    p.unlink()
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"], clock, forget_s=3600)
    assert chunks == [] and t.notes == [f"{p}: deleted or moved out of its folder; the rows read from it stay counted, any written to it after the last read are lost unless it comes back"] and state[key].gone_since == clock.t
    clock.t += 3000
    _, state, t = scan(state, [tmp_path / "*.jsonl"], clock, forget_s=3600)
    assert key in state and t.notes == []  # said once
    clock.t += 1000
    _, state, _ = scan(state, [tmp_path / "*.jsonl"], clock, forget_s=3600)
    assert key not in state and len(state) == 1


def test_an_unterminated_line_waits_for_its_writer_by_time_not_by_scans(tmp_path):
    clock = Clock()
    p = tmp_path / "p.jsonl"
    write(p, [0], "w", tail='{"id"')
    chunks, state, _ = scan({}, [p], clock)
    assert ids(chunks) == [0]
    for _ in range(5):  # a writer paused mid-line for many scans, each short of the grace
        clock.t += 20
        chunks, state, _ = scan(state, [p], clock)
        assert chunks == []
        write(p, [], tail=" ")  # it grows a little: the clock restarts
    clock.t += 29
    chunks, state, _ = scan(state, [p], clock)
    assert chunks == []
    write(p, [], tail=': 1}\n')
    chunks, state, _ = scan(state, [p], clock)
    assert ids(chunks) == [] and chunks[0].body == b'{"id"' + b" " * 5 + b': 1}\n' and chunks[0].first_line == 2

    write(p, [2], tail='{"id": 3')
    chunks, state, _ = scan(state, [p], clock)
    assert ids(chunks) == [2] and chunks[0].rejected == []
    clock.t += 29.9
    assert scan(state, [p], clock)[0] == []
    clock.t += 0.1  # unchanged for the whole grace: the writer is gone
    chunks, state, _ = scan(state, [p], clock)
    assert chunks[0].rejected == [(4, TRUNCATED, '{"id": 3')] and chunks[0].body == b""
    cur = next(iter(state.values()))
    assert cur.offset == p.stat().st_size and cur.line_no == 3 and cur.pending_size == -1
    write(p, [5])  # written after the fragment, on its line: line 4 of the file, as `sed -n 4p` shows it
    chunks, _, _ = scan(state, [p], clock)
    assert ids(chunks) == [5] and chunks[0].first_line == 4
    assert p.read_text().splitlines()[3] == '{"id": 3{"id": 5}'


def test_a_line_set_aside_and_then_finished_is_not_set_aside_again(tmp_path):
    """The rest of a line set aside as truncated, when its writer comes back after the grace, is on the same line:
    a second pause past the grace sets nothing aside again, and the chunk that ends the line says it `continues`
    one (so the store drops a reader's rejection of it: thirtieth session's data-path probe)."""
    clock = Clock()
    p = tmp_path / "p.jsonl"
    write(p, [0], "w", tail='{"id": 1, "x"')
    _, state, _ = scan({}, [p], clock)
    clock.t += 30
    chunks, state, _ = scan(state, [p], clock)
    assert chunks[0].rejected == [(2, TRUNCATED, '{"id": 1, "x"')] and next(iter(state.values())).mid_line
    write(p, [], tail=": 2")  # more of it, and a pause past the grace again
    _, state, _ = scan(state, [p], clock)
    clock.t += 30
    chunks, state, _ = scan(state, [p], clock)
    assert chunks == []
    write(p, [], tail="}\n")
    chunks, state, _ = scan(state, [p], clock)
    assert ids(chunks) == [] and chunks[0].body == b"}\n" and chunks[0].first_line == 2 and chunks[0].continues
    write(p, [4])
    chunks, state, _ = scan(state, [p], clock)
    assert ids(chunks) == [4] and chunks[0].first_line == 3 and not chunks[0].continues
    assert not next(iter(state.values())).mid_line


def test_a_discarded_scan_is_read_again_from_the_untouched_state(tmp_path):
    p = tmp_path / "p.jsonl"
    write(p, range(10), "w")
    _, state, _ = scan({}, [p])
    frozen = json.dumps({k: c.to_dict() for k, c in state.items()})
    write(p, range(10, 20))
    p.rename(tmp_path / "p.jsonl.1")
    write(p, range(20, 30), "w")
    failed = Tailer(state, wall=Clock(), max_chunk_bytes=30)
    first = next(failed.scan([str(p)]))  # the store write fails here; the scan is dropped
    assert ids([first]) and json.dumps({k: c.to_dict() for k, c in state.items()}) == frozen
    chunks, _, _ = scan(state, [p])
    assert ids(chunks) == list(range(10, 30))


def test_chunk_by_chunk_commits_survive_a_crash_between_chunks(tmp_path):
    """A copytruncate's copy continues the old cursor before the truncated file restarts under its key."""
    p = tmp_path / "p.jsonl"
    write(p, range(20), "w")
    _, state, _ = scan({}, [p])
    write(p, range(20, 30))
    shutil.copyfile(p, tmp_path / "p.jsonl.1")
    with open(p, "r+") as fh:
        fh.truncate(0)
    write(p, range(30, 60))
    committed, delivered = dict(state), []
    for chunk in Tailer(state, wall=Clock()).scan([str(p)]):
        committed[chunk.key] = chunk.cursor
        delivered += ids([chunk])
        break  # crash after the first chunk's transaction
    chunks, _, _ = scan(committed, [p])
    delivered += ids(chunks)
    assert sorted(delivered) == list(range(20, 60))


def test_a_large_file_comes_in_several_chunks_and_a_long_line_whole(tmp_path):
    p = tmp_path / "p.jsonl"
    long = '{"id": 7, "x": "' + "y" * 300 + '"}\n'
    p.write_text("".join(f'{{"id": {i}}}\n' for i in range(7)) + long + "".join(f'{{"id": {i}}}\n' for i in range(8, 60)))
    chunks, state, _ = scan({}, [p], max_chunk_bytes=64)
    assert len(chunks) > 10 and b"".join(c.body for c in chunks) == p.read_bytes()
    assert all(c.body.endswith(b"\n") for c in chunks) and any(c.body.endswith(long.encode()) for c in chunks)
    line = 1
    for c in chunks:
        assert c.first_line == line
        line += c.body.count(b"\n")
    assert next(iter(state.values())).line_no == 60


def test_csv_header_is_kept_per_file(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(b"\xef\xbb\xbfrequest_id,label\r\nr0,1\r\n")
    b.write_text("label,request_id\n")
    chunks, state, _ = scan({}, [tmp_path / "*.csv"], csv_headers=True)
    by = {c.path: c for c in chunks}
    assert by[str(a)].header == "request_id,label" and by[str(a)].body == b"r0,1\r\n"
    assert by[str(a)].first_line == 2 and not by[str(a)].start_of_file
    assert by[str(b)].header == "label,request_id" and by[str(b)].body == b""
    with open(b, "a") as fh:
        fh.write("0,r1\n")
    chunks, state, _ = scan(state, [tmp_path / "*.csv"], csv_headers=True)
    assert [(c.path, c.header, c.body, c.first_line) for c in chunks] == [(str(b), "label,request_id", b"0,r1\n", 2)]


@pytest.mark.parametrize("again", [False, True], ids=["writer-goes-on", "writer-writes-its-header-again"])
def test_a_csv_truncated_in_place_keeps_its_header(tmp_path, again):
    """Data probe, F2: after a copytruncate the writer (csv.writer wrote its header once) goes on appending rows
    with no header; the first was taken for the header and vanished, every later one was set aside."""
    p = tmp_path / "app.csv"
    p.write_text("ts,request_id\n" + "".join(f"t,r{i}\n" for i in range(3)))
    _, state, _ = scan({}, [tmp_path / "*.csv"], csv_headers=True)
    with open(p, "r+") as fh:
        fh.truncate(0)
    p.write_text(("ts,request_id\n" if again else "") + "".join(f"t,r{i}\n" for i in range(3, 6)))
    chunks, state, _ = scan(state, [tmp_path / "*.csv"], csv_headers=True)
    assert [(c.header, c.body) for c in chunks if c.body] == [("ts,request_id", b"t,r3\nt,r4\nt,r5\n")]


def test_a_directory_or_an_unreadable_match_is_a_note_and_other_files_are_read(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    os.symlink(tmp_path / "loop.jsonl", tmp_path / "loop.jsonl")  # stat fails: ELOOP
    write(tmp_path / "ok.jsonl", range(5), "w")
    chunks, _, t = scan({}, [tmp_path / "*.jsonl", tmp_path / "none" / "*.jsonl", tmp_path / "absent.jsonl"])
    assert ids(chunks) == list(range(5))
    assert sorted(t.notes) == [f"{tmp_path / 'dir.jsonl'}/ matched the glob: not a file",
                               f"{tmp_path / 'loop.jsonl'}: unreadable: Too many levels of symbolic links"]
    assert t.missing == [str(tmp_path / "none" / "*.jsonl"), str(tmp_path / "absent.jsonl")]


def _bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_a_scan_of_unchanged_files_reads_no_bytes(tmp_path):
    old = 1_700_000_000  # written a while ago: their mtimes are trusted
    for n in range(20):
        f = tmp_path / f"f{n}.jsonl"
        write(f, range(n * 1000, n * 1000 + 1000), "w")
        os.utime(f, (old, old))
    tailer = Tailer({}, wall=Clock())
    before = _bytes_read()
    assert len(ids(list(tailer.scan([str(tmp_path / "*.jsonl")])))) == 20_000
    assert _bytes_read() - before >= sum(f.stat().st_size for f in tmp_path.iterdir())
    again = Tailer(tailer.state_after(), wall=Clock())
    before = _bytes_read()
    itself = _bytes_read() - before  # reading /proc/self/io counts too
    before = _bytes_read()
    assert list(again.scan([str(tmp_path / "*.jsonl")])) == []
    assert _bytes_read() - before - itself <= 2  # a counter that gained a digit, no file byte


def test_a_recently_written_file_has_its_fingerprint_checked_until_it_settles(tmp_path):
    """A truncate and regrow to the same size within one mtime tick would otherwise look unchanged."""
    p = tmp_path / "p.jsonl"
    write(p, range(10, 20), "w")
    _, state, _ = scan({}, [p])
    assert next(iter(state.values())).mtime_ns == -1
    st = p.stat()
    write(p, range(20, 30), "w")  # same size
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ids(scan(state, [p])[0]) == list(range(20, 30))


def test_cursors_round_trip_through_json():
    c = FileCursor(path="/x", dev=1, ino=2, fp_len=3, fp="ab", offset=4, line_no=5, header="a,b",
                   pending_size=9, pending_since=1.5, carry={"open": [1, 2]}, gone_since=None)
    assert FileCursor.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert FileCursor.from_dict({**c.to_dict(), "unknown": 1}) == c


def test_state_after_needs_an_exhausted_scan(tmp_path):
    write(tmp_path / "p.jsonl", range(3), "w")
    t = Tailer({})
    it = t.scan([str(tmp_path / "p.jsonl")])
    next(it)
    with pytest.raises(RuntimeError):
        t.state_after()
    list(it)
    assert len(t.state_after()) == 1


def test_csv_pieces_end_at_record_ends_not_inside_a_quoted_field(tmp_path):
    """With pieces smaller than the file, every chunk of a CSV holds whole records: a quoted field's line
    breaks never fall on a chunk boundary, and the rows read chunk by chunk are the file's rows."""
    import csv
    import io

    p = tmp_path / "p.csv"
    rows = [[f"r{i}", "one line" if i % 3 else f"prompt {i}\nwith \"quotes\"\nand lines"] for i in range(60)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["request_id", "note"], *rows])
    p.write_text(buf.getvalue())
    chunks, state, _ = scan({}, [p], max_chunk_bytes=64, csv_headers=True)
    got = [r for c in chunks for r in csv.reader(io.StringIO(c.body.decode(), newline=""))]
    assert got == rows and state[next(iter(state))].offset == p.stat().st_size


def test_a_whole_last_row_with_no_newline_is_kept_once_after_the_grace(tmp_path):
    """A file written with "\\n".join(rows): after the grace, a tail the caller says is a whole row is handed on
    (with its newline), counted once; the writer's later "\\n" and rows double and lose nothing, and line
    numbers hold. A cut tail is still set aside, and without `complete_tail` every tail is (CSV's case)."""
    from console.store.parse import whole_json_row

    clock = Clock()
    p = tmp_path / "p.jsonl"
    p.write_text("\n".join(f'{{"id": {i}}}' for i in range(3)))  # no newline after id 2
    kw = {"complete_tail": whole_json_row}
    chunks, state, _ = scan({}, [p], clock, **kw)
    assert ids(chunks) == [0, 1]
    clock.t += 29
    assert scan(state, [p], clock, **kw)[0] == []  # within the grace: the writer may still end it
    clock.t += 1
    chunks, state, _ = scan(state, [p], clock, **kw)
    assert ids(chunks) == [2] and chunks[0].rejected == [] and chunks[0].body == b'{"id": 2}\n'
    assert chunks[0].first_line == 3 and chunks[0].lines == 1
    clock.t += 100
    assert scan(state, [p], clock, **kw)[0] == []  # kept once: nothing more while the file is unchanged
    with open(p, "a") as fh:  # the writer goes on: its newline, then more rows
        fh.write('\n{"id": 3}\n{"id": 4}')
    chunks, state, _ = scan(state, [p], clock, **kw)
    assert ids(chunks) == [3] and chunks[0].first_line == 3  # line 3's newline (blank to a reader), then line 4
    assert chunks[0].body.split(b"\n")[1] == b'{"id": 3}'
    clock.t += 30
    chunks, state, _ = scan(state, [p], clock, **kw)
    assert ids(chunks) == [4] and chunks[0].first_line == 5

    q = tmp_path / "q.jsonl"
    q.write_text('{"id": 7}\n{"id": 8')  # cut: still set aside
    chunks, qstate, _ = scan({}, [q], clock, **kw)
    clock.t += 30
    chunks, _, _ = scan(qstate, [q], clock, **kw)
    assert ids(chunks) == [] and chunks[0].rejected == [(2, TRUNCATED, '{"id": 8')]
    r = tmp_path / "r.jsonl"
    r.write_text('{"id": 9}')  # whole, but no `complete_tail` (a CSV source): set aside as before
    _, rstate, _ = scan({}, [r], clock)
    clock.t += 30
    chunks, _, _ = scan(rstate, [r], clock)
    assert ids(chunks) == [] and chunks[0].rejected == [(1, TRUNCATED, '{"id": 9}')]


def test_a_tail_in_a_file_untouched_for_longer_than_the_grace_is_decided_at_once(tmp_path):
    """A tail whose file was last written more than the grace ago has no writer to wait for (QA pass 4): a one-shot
    scan decides it as it would after the grace, whatever the Tailer's own clock says (the mtime is compared with
    the real clock it was stamped by). A file written just now still waits, with the same pinned clock."""
    from console.store.parse import whole_json_row

    months_ago = time.time() - 90 * 86400
    cut, whole, csv, fresh = (tmp_path / n for n in ("cut.jsonl", "whole.jsonl", "q.csv", "fresh.jsonl"))
    write(cut, [0, 1], "w", tail='{"id": 2')
    whole.write_text('{"id": 0}\n{"id": 1}')
    csv.write_text('a,b\n1,x\n2,"open\n3,y\n')  # an unbalanced quote: to the end a record still being written
    write(fresh, [0], "w", tail='{"id"')
    for p in (cut, whole, csv):
        os.utime(p, (months_ago, months_ago))
    clock = Clock()  # pinned: never moves, so only the mtime can decide
    chunks, _, _ = scan({}, [cut], clock)
    assert ids(chunks) == [0, 1] and [r[:2] for c in chunks for r in c.rejected] == [(3, TRUNCATED)]
    chunks, _, _ = scan({}, [whole], clock, complete_tail=whole_json_row)
    assert b"".join(c.body for c in chunks) == b'{"id": 0}\n{"id": 1}\n' and all(not c.rejected for c in chunks)
    chunks, _, _ = scan({}, [csv], clock, csv_headers=True)
    assert b"".join(c.body for c in chunks) == b'1,x\n2,"open\n3,y\n'  # all handed on: the parser sets line 3 aside
    chunks, state, _ = scan({}, [fresh], clock)
    assert ids(chunks) == [0] and not any(c.rejected for c in chunks)  # written now: its writer may go on
    assert next(iter(state.values())).pending_size == fresh.stat().st_size


def test_the_rest_of_a_line_set_aside_is_located_on_that_line(tmp_path):
    """A writer paused mid-line past the grace, then finished the line: its fragment and its rest are both line 3
    of the file; the next row, line 4, is read."""
    p = tmp_path / "p.jsonl"
    clock = Clock()
    write(p, [0, 1], tail='{"id": 2, "x"')
    chunks, state, _ = scan({}, [p], clock)
    clock.t += 31
    chunks, state, _ = scan(state, [p], clock)
    assert chunks[0].rejected == [(3, TRUNCATED, '{"id": 2, "x"')]
    with open(p, "a") as fh:
        fh.write(': 7}\n{"id": 3}\n')
    chunks, state, _ = scan(state, [p], clock)
    assert chunks[0].first_line == 3 and chunks[0].body == b': 7}\n{"id": 3}\n'
    lines = p.read_text().splitlines()
    assert lines[2] == '{"id": 2, "x": 7}' and lines[3] == '{"id": 3}'


def test_lines_held_behind_an_open_csv_quote_are_said(tmp_path):
    """Complete lines waiting behind a quote a live writer may still be closing are said, with where the quote
    opened and for how long they wait (twenty-eighth session's probe: 3 of 6 good rows shown, malformed 0, no
    note, until the grace was over); after the grace they are handed on and nothing is said."""
    p = tmp_path / "q.csv"
    p.write_text('a,b\n1,x\n2,y\n3,"open\n4,z\n5,w\n')
    clock = Clock()
    chunks, state, t = scan({}, [p], clock, csv_headers=True)
    assert b"".join(c.body for c in chunks) == b"1,x\n2,y\n"
    assert [n for n in t.notes if "quote" in n] == [f"{p}: 3 lines from line 4 wait behind a quote opened there, "
                                                     "for up to 30 s (the writer may be writing a field with line "
                                                     "breaks); then that line is set aside alone"]
    clock.t += 31
    chunks, _, t = scan(state, [p], clock, csv_headers=True)
    assert b"".join(c.body for c in chunks) == b'3,"open\n4,z\n5,w\n' and not t.notes


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_file_written_anew_with_its_first_kib_kept_is_read_from_the_start(tmp_path, how):
    """Twenty-eighth session's probe (X3, X5): 100 rows read, then the file written again as its first 10 rows (past
    the 1 KiB head fingerprint) and 120 new ones. The head matched, so reading went on from the old offset: 90 of
    the 120 new rows were never read, and nothing was said. The KiB before the offset is fingerprinted too: the file
    is read from the start (the 10 rows it kept count again, as for any file written anew), and said."""
    def lines(ids):
        return "".join(json.dumps({"id": i, "pad": "x" * 140}) + "\n" for i in ids)

    def got(chunks):
        return [json.loads(line)["id"] for c in chunks for line in c.body.decode().splitlines()]

    p = tmp_path / "p.jsonl"
    p.write_text(lines(range(100)))
    clock = Clock()
    chunks, state, _ = scan({}, [tmp_path / "*.jsonl"], clock)
    assert got(chunks) == list(range(100))
    new = lines(range(10)) + lines(range(1000, 1120))
    assert len(new) > p.stat().st_size
    if how == "in place":
        with open(p, "r+") as fh:
            fh.write(new)
    else:
        (tmp_path / "tmp").write_text(new)
        os.replace(tmp_path / "tmp", p)
    clock.t += 5
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"], clock)
    assert got(chunks) == [*range(10), *range(1000, 1120)], got(chunks)
    assert any("reading it from the start" in n for n in t.notes), t.notes
    with open(p, "a") as fh:  # and an append after it is an append again
        fh.write(lines([2000]))
    clock.t += 5
    chunks, _, t = scan(state, [tmp_path / "*.jsonl"], clock)
    assert got(chunks) == [2000] and not t.notes


def test_a_file_rotated_between_the_listing_and_its_read_is_followed_not_said_unreadable(tmp_path, monkeypatch):
    """logrotate renames the file after the glob listed it and before it is opened: the note said "unreadable: No
    such file or directory" (an alarm on every busy rotation, with nothing lost); it is followed by inode."""
    import glob as glob_mod

    p = tmp_path / "p.jsonl"
    write(p, range(3), "w")
    chunks, state, _ = scan({}, [p])
    write(p, range(3, 5))
    listed = glob_mod.glob

    def glob_then_rotate(pattern, recursive=False):
        found = listed(pattern, recursive=recursive)
        if p.exists():
            p.rename(tmp_path / "p.jsonl.1")  # (not matched by the pattern: found by its inode)
        return found

    monkeypatch.setattr(glob_mod, "glob", glob_then_rotate)
    chunks, state, t = scan(state, [tmp_path / "p*.jsonl"])
    assert ids(chunks) == [3, 4]  # by hand: the rows written before the rotation, once
    assert t.notes == [f"{p}: rotated to {tmp_path / 'p.jsonl.1'}, reading its rest"], t.notes


def test_a_cursor_whose_fingerprint_took_in_nul_padding_reads_on(tmp_path):
    """A cursor saved before NUL padding was left out of fingerprints covers rows and NULs (800 bytes). The file,
    padded further and then appended to after the NULs, kept those bytes: the row after them is read. It was not:
    the head, its NULs stripped before the comparison, never matched again, and every later row of the file waited."""
    p = tmp_path / "p.jsonl"
    write(p, range(3), "w")
    rows_end = p.stat().st_size
    with open(p, "ab") as fh:
        fh.write(b"\0" * (800 - rows_end))
    st = p.stat()
    legacy = FileCursor(str(p), st.st_dev, st.st_ino, fp_len=800, fp=hashlib.sha1(p.read_bytes()).hexdigest(),
                        offset=rows_end, line_no=3)
    with open(p, "ab") as fh:
        fh.write(b"\0" * 2000)
    write(p, [3])
    chunks, state, _ = scan({key_of(st.st_dev, st.st_ino): legacy}, [p])
    assert ids(chunks) == [3]
    assert state[key_of(st.st_dev, st.st_ino)].offset == p.stat().st_size


def test_a_file_moved_out_of_its_folder_and_back_is_said_so_and_read_on(tmp_path):
    """A file moved to another folder (logrotate's `olddir`, an operator's `mv`) was said "deleted" with its later
    rows "lost"; back within the forget time, those rows are read, once."""
    away = tmp_path / "away"
    away.mkdir()
    p = tmp_path / "p.jsonl"
    write(p, range(3), "w")
    _, state, _ = scan({}, [tmp_path / "*.jsonl"])
    p.rename(away / "p.jsonl")
    write(away / "p.jsonl", range(3, 6))
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"])
    assert chunks == [] and t.notes == [f"{p}: deleted or moved out of its folder; the rows read from it stay counted, "
                                        "any written to it after the last read are lost unless it comes back"]
    (away / "p.jsonl").rename(p)
    chunks, state, t = scan(state, [tmp_path / "*.jsonl"])
    assert ids(chunks) == [3, 4, 5] and t.notes == []
