"""Random sequences of appends, partial writes, rotations, copytruncates, compressions of rotated files (gzip, as
logrotate's `compress`: the original deleted once done, or kept as `gzip -k` does; a scan may come while gzip is half
way), deletions, replacements, NUL bytes past a file's last line (space preallocated, or a size a crash left unwritten:
the writer writes over them, or, restarted, appends after them) and failed refreshes, against a model of what was
written: after every refresh each complete row was delivered once.

Rows carry a unique id. The model tracks each file's content as a lineage (from creation or truncation to
now) under its current name. What must have been delivered after a successful refresh: every complete row
of every lineage on disk that the tailer can follow, that is under a name the glob matches, or one it
has seen with content (it then follows a rename or a copy within the folder). Rows of a lineage that was
rotated out of the glob's sight, or deleted, before any refresh saw it are legitimately not read.
A partial row seen by a successful refresh and left unchanged for the grace is rejected, once; a whole row
with no newline (a writer's "\n".join(rows)) left so is delivered then, once, and its writer's later "\n" and
rows double and lose nothing.

Two drivers share the model: the bare Tailer (its state kept as JSON, failures drop a half-read scan)
and the real store (Warehouse.refresh, its counts read back by SQL, failures injected where a disk
would fail: before or after the segments are written, or when the manifest is saved).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from console.config import Config, LogSource
from console.sources.files import TRUNCATED, FileCursor, Tailer
from console.store import merge as merge_mod
from console.store.parse import whole_json_row
from console.store.manifest import Manifest
from console.warehouse import Warehouse

GRACE = 30.0
HEAD = '{{"request_id": "{}", "model": "m", "version": "1", "ts": "2026-11-25T06:00:00Z", "pad": "'
ROW = re.compile(rb'^\{"request_id": "(\d+)", "model": "m", "version": "1", "ts": "[^"]*", "pad": "x*"\}$')
PARTIAL = re.compile(r'^\{"request_id": "(\d+)", "model": "m", "version": "1", "ts": "[^"]*", "pad": "x*$')
FRAGMENT = re.compile(r'^x*"\}$')  # the rest of a partial row written after it was rejected
WRITERS = st.sampled_from(["a", "b"])


@dataclass
class Partial:
    id: int
    rest: str
    seen_at: float | None = None  # fake time of the first successful refresh that saw it
    abandoned: bool = False  # the tailer rejected it (unchanged for the grace), or took it when `whole`
    whole: bool = False  # a complete row with no newline: delivered after the grace, not rejected


@dataclass
class Lineage:
    """One file's content since it was created or truncated."""

    ids: list[int] = field(default_factory=list)  # complete rows, in order
    partial: Partial | None = None
    known: bool = False  # a successful refresh saw it with content: the tailer holds a fingerprinted cursor
    nuls: int = 0  # NUL bytes after its last byte written (`pad`)
    over: bool = False  # its writer writes over them (preallocated space); else appends after them (restarted)


def row(i: int, pad: int) -> str:
    return HEAD.format(i) + "x" * pad + '"}\n'


class Ingest(RuleBasedStateMachine):
    """The model and the file operations; a driver subclass says how a refresh runs and what it delivered."""

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="tailer-"))
        self.pattern = str(self.dir / "*.jsonl")
        self.now = 1_000_000.0
        self.files: dict[str, Lineage] = {}  # current name -> its content
        self.complete: set[int] = set()
        self.abandoned: set[int] = set()
        self.next_id = 0
        self.next_name = 0
        self.chunk = 1 << 20
        self.copies: dict[str, str] = {}  # a compressed copy kept beside its original (gzip -k) -> the original
        self.compressing: dict[str, tuple[str, bytes, bool]] = {}  # gz half written -> (original, rest, keep)
        self.log: list[str] = []  # what was done, with inodes and sizes: for a failure that only inode reuse explains

    def _did(self, what: str) -> None:
        disk = {p.name: (p.stat().st_ino, p.stat().st_size) for p in sorted(self.dir.iterdir())}
        self.log.append(f"{what} @{self.now:.0f} -> {disk}")

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the writers

    def _path(self, name: str) -> Path:
        return self.dir / name

    def _live(self, w: str) -> str:
        return f"{w}.jsonl"

    def _rows(self, n: int, pads: list[int]) -> tuple[list[int], str]:
        ids = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        return ids, "".join(row(i, pads[k % len(pads)]) for k, i in enumerate(ids))

    def _write(self, name: str, text: str) -> None:
        """A writer's bytes: over the NULs its file ends with when it preallocated them, else at the end."""
        lin = self.files[name]
        with open(self._path(name), "r+b" if self._path(name).exists() else "ab") as fh:
            fh.seek(-lin.nuls if lin.nuls and lin.over else 0, os.SEEK_END)
            fh.write(text.encode())
        lin.nuls = max(0, lin.nuls - len(text.encode())) if lin.over else 0

    def _finish(self, name: str) -> None:
        lin = self.files[name]
        self._write(name, lin.partial.rest)
        if not lin.partial.abandoned:
            lin.ids.append(lin.partial.id)
            self.complete.add(lin.partial.id)
        lin.partial = None

    @rule(w=WRITERS, pad=st.integers(0, 30))
    def end_without_newline(self, w, pad):
        """A whole row with no newline after it, as "\n".join(rows) leaves the last one; the writer may go on
        later with its newline (`_finish`: `append` and `finish_partial`)."""
        name = self._live(w)
        lin = self.files.setdefault(name, Lineage())
        if lin.partial is not None:
            return
        i, self.next_id = self.next_id, self.next_id + 1
        self._write(name, row(i, pad)[:-1])
        lin.partial = Partial(i, "\n", whole=True)
        self.complete.add(i)  # it may be delivered (after the grace); it must be once its newline comes
        self._did(f"end_without_newline {name} {i}")

    @initialize(chunk=st.sampled_from([16, 100, 1 << 20]))
    def setup(self, chunk):
        self.chunk = chunk

    @rule(w=WRITERS, n=st.integers(1, 5), pads=st.lists(st.integers(0, 30), min_size=1, max_size=5))
    def append(self, w, n, pads):
        name = self._live(w)
        if name in self.files and self.files[name].partial is not None:
            self._finish(name)  # a writer ends its line before the next
        lin = self.files.setdefault(name, Lineage())
        ids, text = self._rows(n, pads)
        self._write(name, text)
        lin.ids += ids
        self.complete.update(ids)
        self._did(f"append {name} {ids}")

    @rule(w=WRITERS, head=st.integers(0, 6), tail=st.integers(0, 6))
    def start_partial(self, w, head, tail):
        name = self._live(w)
        lin = self.files.setdefault(name, Lineage())
        if lin.partial is not None:
            return
        i, self.next_id = self.next_id, self.next_id + 1
        self._write(name, HEAD.format(i) + "x" * head)
        lin.partial = Partial(i, "x" * tail + '"}\n')
        self._did(f"start_partial {name} {i}")

    @precondition(lambda self: any(lin.partial for lin in self.files.values()))
    @rule(data=st.data())
    def finish_partial(self, data):
        name = data.draw(st.sampled_from(sorted(n for n, lin in self.files.items() if lin.partial)))
        self._finish(name)  # the writer's descriptor follows its file through renames
        self._did(f"finish_partial {name}")

    @rule(w=WRITERS, n=st.sampled_from([1, 7, 300, 1500]), over=st.booleans())
    def pad(self, w, n, over):
        """NUL bytes past the last line: space a writer preallocated (it writes over them, `over`), or what a crash
        leaves when the file's size reached the disk and its last write did not (the writer, restarted, appends
        after them). They are no line: neither a row nor one set aside, and their overwrite is no new file."""
        name = self._live(w)
        lin = self.files.get(name)
        if lin is None or lin.partial is not None or lin.nuls:
            return
        with open(self._path(name), "ab") as fh:
            fh.write(b"\0" * n)
        lin.nuls, lin.over = n, over
        self._did(f"pad {name} {n} over={over}")

    # -- rotations

    def _new_name(self, w: str, matched: bool) -> str:
        self.next_name += 1
        return f"{w}-{self.next_name}.jsonl" if matched else f"{w}.jsonl.{self.next_name}"

    @rule(w=WRITERS, matched=st.booleans())
    def rename_rotation(self, w, matched):
        name = self._live(w)
        if name not in self.files:
            return
        new = self._new_name(w, matched)
        os.rename(self._path(name), self._path(new))
        self.files[new] = self.files.pop(name)
        self._did(f"rename {name} {new}")

    @rule(w=WRITERS, matched=st.booleans())
    def copytruncate(self, w, matched):
        name = self._live(w)
        if name not in self.files:
            return
        new = self._new_name(w, matched)
        shutil.copyfile(self._path(name), self._path(new))
        with open(self._path(name), "r+") as fh:
            fh.truncate(0)
        # the copy carries the content and the tailer's cursor (by fingerprint); the original starts afresh
        self.files[new] = self.files[name]
        self.files[name] = Lineage()
        self._did(f"copytruncate {name} {new}")

    def _compressible(self) -> list[str]:
        """Rotated files no writer holds (a writer's partial line stays on its live name), not compressed yet."""
        busy = {*self.copies.values(), *(o for o, _, _ in self.compressing.values())}
        return sorted(n for n, lin in self.files.items() if n not in (self._live("a"), self._live("b"))
                      and not n.endswith(".gz") and lin.partial is None and n not in busy
                      and not self._path(n + ".gz").exists())

    @precondition(lambda self: bool(self._compressible()))
    @rule(data=st.data(), keep=st.booleans(), half=st.booleans())
    def compress(self, data, keep, half):
        """gzip of a rotated file: `name.gz` written (all of it, or half: gzip still at work), then the original
        deleted unless `keep`. Its rows are the original's: read on from where the original's cursor stood."""
        name = data.draw(st.sampled_from(self._compressible()))
        packed = gzip.compress(self._path(name).read_bytes(), mtime=0)
        cut = len(packed) // 2 if half else len(packed)
        self._path(name + ".gz").write_bytes(packed[:cut])
        self.compressing[name + ".gz"] = (name, packed[cut:], keep)
        self._did(f"compress {name} keep={keep} half={half}")
        if not half:
            self.finish_compress_of(name + ".gz")

    @precondition(lambda self: bool(self.compressing))
    @rule(data=st.data())
    def finish_compress(self, data):
        self.finish_compress_of(data.draw(st.sampled_from(sorted(self.compressing))))

    def finish_compress_of(self, gz: str) -> None:
        name, rest, keep = self.compressing.pop(gz)
        with open(self._path(gz), "ab") as fh:
            fh.write(rest)
        if keep:
            self.copies[gz] = name
        else:
            os.unlink(self._path(name))
            self.files[gz] = self.files.pop(name)
        self._did(f"compressed {name} -> {gz}")

    @precondition(lambda self: bool(set(self.files) - {o for o, _, _ in self.compressing.values()}))
    @rule(data=st.data())
    def delete(self, data):
        """A file deleted (never one gzip is reading: it deletes it itself). An original whose compressed copy
        was kept goes on in the copy: its rows are read there."""
        name = data.draw(st.sampled_from(sorted(set(self.files) - {o for o, _, _ in self.compressing.values()})))
        os.unlink(self._path(name))
        lin = self.files.pop(name)
        copy = next((gz for gz, o in self.copies.items() if o == name), None)
        if copy is not None:
            del self.copies[copy]
            self.files[copy] = lin
        self._did(f"delete {name}")

    @rule(w=WRITERS, n=st.integers(1, 5), pad=st.integers(0, 30))
    def replace(self, w, n, pad):
        name = self._live(w)
        ids, text = self._rows(n, [pad])
        tmp = self._path(f".{w}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self._path(name))
        self.files[name] = Lineage(ids=ids)
        self.complete.update(ids)
        self._did(f"replace {name} {ids}")

    @rule(dt=st.sampled_from([1.0, 10.0, GRACE - 1, GRACE, GRACE + 5]))
    def advance_clock(self, dt):
        self.now += dt
        self.log.append(f"clock +{dt}")

    # -- refreshes

    @rule(stop_after=st.integers(1, 4))
    def refresh_that_fails(self, stop_after):
        if self.fail(stop_after):
            self._did(f"refresh failed ({stop_after})")
        else:  # the fault was never reached: it was a successful refresh
            self._refreshed()

    @rule()
    def refresh(self):
        self.succeed()
        self._refreshed()

    def _refreshed(self):
        delivered, rejected, notes = self.results()
        self._did(f"refresh: delivered {sorted(delivered)} rejected {sorted(rejected)} notes {notes}")
        for name, lin in self.files.items():
            if not (self._matched(name) or lin.known):
                continue
            if lin.partial and not lin.partial.abandoned and lin.partial.seen_at is not None \
                    and self.now - lin.partial.seen_at >= GRACE:
                lin.partial.abandoned = True
                if lin.partial.whole:  # a whole row: taken as it is, so it must have been delivered now
                    lin.ids.append(lin.partial.id)
                else:
                    self.abandoned.add(lin.partial.id)
            elif lin.partial and lin.partial.seen_at is None:
                lin.partial.seen_at = self.now
            if self._path(name).stat().st_size > lin.nuls:
                lin.known = True

        twice = {i: n for i, n in delivered.items() if n > 1}
        assert not twice, f"delivered more than once: {twice}\n" + "\n".join(self.log)
        assert set(delivered) <= self.complete
        for name, lin in self.files.items():
            if self._matched(name) or lin.known:
                lost = [i for i in lin.ids if i not in delivered]
                assert not lost, f"{name}: rows never delivered: {lost}\n" + "\n".join(self.log)
        assert set(rejected) == self.abandoned and all(n == 1 for n in rejected.values()), "\n".join(self.log)

    # -- what a driver provides

    def succeed(self) -> None:
        raise NotImplementedError

    def fail(self, where: int) -> bool:
        """A refresh that fails at `where`; False if it completed (the fault point was never reached)."""
        raise NotImplementedError

    def results(self) -> tuple[Counter, Counter, list[str]]:
        """Every row delivered so far and every partial row rejected so far, by id; this refresh's notes."""
        raise NotImplementedError

    def _matched(self, name: str) -> bool:
        return name.endswith(".jsonl") and not name.startswith(".")


class TailerIngest(Ingest):
    """The bare Tailer: its state goes through JSON as a store keeps it; a failed write drops a half-read scan."""

    def __init__(self):
        super().__init__()
        self.state: dict[str, FileCursor] = {}
        self.delivered: Counter[int] = Counter()
        self.rejected: Counter[int] = Counter()
        self.notes: list[str] = []

    def _tailer(self) -> Tailer:
        return Tailer(self.state, grace_s=GRACE, wall=lambda: self.now, max_chunk_bytes=self.chunk,
                      complete_tail=whole_json_row)  # as the store tails a JSONL source

    def fail(self, where):
        before = json.dumps({k: c.to_dict() for k, c in self.state.items()}, sort_keys=True)
        it = self._tailer().scan([self.pattern])
        for _, _chunk in zip(range(where), it):
            pass  # read, then the store write fails: everything from this scan is dropped
        it.close()
        assert json.dumps({k: c.to_dict() for k, c in self.state.items()}, sort_keys=True) == before
        return True

    def succeed(self):
        tailer = self._tailer()
        for chunk in tailer.scan([self.pattern]):
            assert chunk.body == b"" or chunk.body.endswith(b"\n")
            for line in chunk.body.split(b"\n")[:-1]:
                m = ROW.match(line)
                if m:
                    self.delivered[int(m.group(1))] += 1
                elif line:  # blank: the newline that ended a whole row delivered before it came
                    assert FRAGMENT.match(line.decode()), f"a broken row was delivered: {line!r}"
            for _, reason, raw in chunk.rejected:
                m = PARTIAL.match(raw)
                assert reason == TRUNCATED and m, raw
                self.rejected[int(m.group(1))] += 1
        self.state = {k: FileCursor.from_dict(json.loads(json.dumps(c.to_dict()))) for k, c in tailer.state_after().items()}
        self.notes = tailer.notes

    def results(self):
        return self.delivered, self.rejected, self.notes


class Fault(OSError):
    pass


class StoreIngest(Ingest):
    """The real store: Warehouse.refresh commits segments and cursors together, in steps; faults are injected
    where a disk would fail (1: before the segments are written, 2: after them, 3: saving the manifest, 4: a
    segment's fsync) and between steps (a crash after some were committed)."""

    def __init__(self):
        super().__init__()
        # format undeclared: a rotated-away name (a.jsonl.3) keeps the format of the pattern that found it
        cfg = Config(source=None, root=Path("."), logs=(LogSource("predictions", self.pattern),))
        self.store = Warehouse(cfg, self.dir.parent / f"{self.dir.name}-store", grace_s=GRACE, wall=lambda: self.now)
        # merges run when the `merge` rule says, two segments at a time, so sequences reach them often
        self.store.merge_in_background, self.store.merge_fanin = False, 2
        self.notes: list[str] = []

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.dir.parent / f"{self.dir.name}-store", ignore_errors=True)
        super().teardown()

    def succeed(self):
        # a step after every chunk: each refresh commits file by file, or piece by piece with small pieces
        self.store.chunk_bytes, self.store.first_step_rows, self.store.step_rows = self.chunk, 1, 1
        self.notes = list(self.store.refresh().notes)

    @rule(steps=st.integers(1, 3))
    def refresh_that_fails_between_steps(self, steps):
        """A crash after `steps` steps of a refresh were committed: they are kept, and a refresh at the same
        time (so the model's record of what was seen when still holds) reads on from them."""
        store, committed = self.store, []

        def crash(manifest):
            committed.append(manifest.generation)
            if len(committed) == steps:
                raise Fault("crash between steps")

        store.on_step = crash
        try:
            self.succeed()
        except Fault:
            self._did(f"refresh crashed after {steps} steps")
        finally:
            store.on_step = None
        self.succeed()
        self._refreshed()

    @precondition(lambda self: any(len(names) >= 2 for names in self.store.manifest.segments.values()))
    @rule(fault=st.sampled_from([None, "write", "manifest"]))
    def merge(self, fault):
        """Merging small segments (off the refresh) keeps every row once, and so does a merge that fails when
        its file is written or its manifest saved: the store is then as before it."""
        store, write, save = self.store, merge_mod.merge, Manifest.save

        def failing_write(parts, path, **kw):
            write(parts, path, **kw)
            raise Fault("disk full while merging")

        def failing_save(manifest, path):
            raise Fault("disk full at the manifest")

        before = self.results()[:2]
        if fault == "write":
            merge_mod.merge = failing_write
        elif fault == "manifest":
            Manifest.save = failing_save
        try:
            merged = store.compact(limit=1)
            self._did(f"merge: {merged}")
        except Fault:
            self._did(f"merge failed ({fault})")
        finally:
            merge_mod.merge, Manifest.save = write, save
        assert not list(store.dir.glob("*/*.tmp")), "a failed merge left its file"
        assert self.results()[:2] == before, "\n".join(self.log)

    def fail(self, where):
        store, flush, save, durable = self.store, type(self.store)._flush, Manifest.save, merge_mod.durable

        def failing_flush(pending, written):
            if where == 1:
                raise Fault("disk full before the segments")
            flush(store, pending, written)
            if where == 2:
                raise Fault("disk full after the segments")

        def failing_save(manifest, path):
            raise Fault("disk full at the manifest")

        def failing_durable(path):
            raise Fault("an I/O error writing a segment out")

        store._flush = failing_flush
        if where == 3:
            Manifest.save = failing_save
        if where == 4:
            merge_mod.durable = failing_durable
        try:
            self.succeed()
            return False
        except Fault:
            assert not list(store.dir.glob("*/*.tmp")), "a failed refresh left a half-written segment"
            return True
        finally:
            del store._flush
            Manifest.save, merge_mod.durable = save, durable

    def results(self):
        with self.store.cursor() as cur:
            delivered = Counter({int(rid): n for rid, n in cur.execute(
                "SELECT request_id, count(*) FROM predictions GROUP BY request_id").fetchall()})
            rejected: Counter[int] = Counter()
            for reason, raw in cur.execute("SELECT reason, raw FROM malformed").fetchall():
                if reason == TRUNCATED:
                    m = PARTIAL.match(raw)
                    assert m, raw
                    rejected[int(m.group(1))] += 1
                else:  # only what is left of a rejected partial row, never a row read from the middle
                    assert FRAGMENT.match(raw), (reason, raw)
        return delivered, rejected, self.notes


TailerIngest.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
StoreIngest.TestCase.settings = settings(max_examples=20, stateful_step_count=30, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestTailerIngest = TailerIngest.TestCase
TestStoreIngest = StoreIngest.TestCase
