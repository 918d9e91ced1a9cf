"""Random sequences of appends, partial writes, rotations, copytruncates, deletions, replacements and failed
refreshes, against a model of what was written: after every refresh each complete row was delivered once.

Rows carry a unique id. The model tracks each file's content as a lineage (from creation or truncation to
now) under its current name. What must have been delivered after a successful refresh: every complete row
of every lineage on disk that the tailer can follow, that is under a name the glob matches, or one it
has seen with content (it then follows a rename or a copy within the folder). Rows of a lineage that was
rotated out of the glob's sight, or deleted, before any refresh saw it are legitimately not read.
A partial row seen by a successful refresh and left unchanged for the grace is rejected, once.
"""

from __future__ import annotations

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

from console.sources.files import TRUNCATED, FileCursor, Tailer

GRACE = 30.0
ROW = re.compile(rb'^\{"id": (\d+), "pad": "x*"\}$')
PARTIAL = re.compile(r'^\{"id": (\d+), "pad": "x*$')
WRITERS = st.sampled_from(["a", "b"])


@dataclass
class Partial:
    id: int
    rest: str
    seen_at: float | None = None  # fake time of the first successful refresh that saw it
    abandoned: bool = False  # the tailer rejected it (unchanged for the grace)


@dataclass
class Lineage:
    """One file's content since it was created or truncated."""

    ids: list[int] = field(default_factory=list)  # complete rows, in order
    partial: Partial | None = None
    known: bool = False  # a successful refresh saw it with content: the tailer holds a fingerprinted cursor


def row(i: int, pad: int) -> str:
    return f'{{"id": {i}, "pad": "{"x" * pad}"}}\n'


class Ingest(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="tailer-"))
        self.pattern = str(self.dir / "*.jsonl")
        self.now = 1_000_000.0
        self.state: dict[str, FileCursor] = {}
        self.files: dict[str, Lineage] = {}  # current name -> its content
        self.complete: set[int] = set()
        self.delivered: Counter[int] = Counter()
        self.rejected: Counter[int] = Counter()
        self.abandoned: set[int] = set()
        self.next_id = 0
        self.next_name = 0
        self.chunk = 1 << 20
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

    def _finish(self, name: str) -> None:
        lin = self.files[name]
        with open(self._path(name), "a") as fh:
            fh.write(lin.partial.rest)
        if not lin.partial.abandoned:
            lin.ids.append(lin.partial.id)
            self.complete.add(lin.partial.id)
        lin.partial = None

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
        with open(self._path(name), "a") as fh:
            fh.write(text)
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
        with open(self._path(name), "a") as fh:
            fh.write(f'{{"id": {i}, "pad": "' + "x" * head)
        lin.partial = Partial(i, "x" * tail + '"}\n')
        self._did(f"start_partial {name} {i}")

    @precondition(lambda self: any(lin.partial for lin in self.files.values()))
    @rule(data=st.data())
    def finish_partial(self, data):
        name = data.draw(st.sampled_from(sorted(n for n, lin in self.files.items() if lin.partial)))
        self._finish(name)  # the writer's descriptor follows its file through renames
        self._did(f"finish_partial {name}")

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

    @precondition(lambda self: bool(self.files))
    @rule(data=st.data())
    def delete(self, data):
        name = data.draw(st.sampled_from(sorted(self.files)))
        os.unlink(self._path(name))
        del self.files[name]
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

    def _tailer(self) -> Tailer:
        return Tailer(self.state, grace_s=GRACE, wall=lambda: self.now, max_chunk_bytes=self.chunk)

    @rule(stop_after=st.integers(1, 4))
    def refresh_that_fails(self, stop_after):
        before = json.dumps({k: c.to_dict() for k, c in self.state.items()}, sort_keys=True)
        it = self._tailer().scan([self.pattern])
        for _, _chunk in zip(range(stop_after), it):
            pass  # read, then the store write fails: everything from this scan is dropped
        it.close()
        self._did(f"refresh failed after {stop_after} chunks")
        assert json.dumps({k: c.to_dict() for k, c in self.state.items()}, sort_keys=True) == before

    @rule()
    def refresh(self):
        tailer = self._tailer()
        got: Counter[int] = Counter()
        rejected: Counter[int] = Counter()
        for chunk in tailer.scan([self.pattern]):
            assert chunk.body == b"" or chunk.body.endswith(b"\n")
            for line in chunk.body.split(b"\n")[:-1]:
                m = ROW.match(line)
                if m:
                    got[int(m.group(1))] += 1
                else:
                    assert b'"id"' not in line, f"a broken row was delivered: {line!r}"
            for _, reason, raw in chunk.rejected:
                assert reason == TRUNCATED
                m = PARTIAL.match(raw)
                assert m, raw
                rejected[int(m.group(1))] += 1
        # committed with the rows: a JSON round trip, as the store keeps it
        self.state = {k: FileCursor.from_dict(json.loads(json.dumps(c.to_dict()))) for k, c in tailer.state_after().items()}
        self.delivered.update(got)
        self.rejected.update(rejected)
        self._did(f"refresh: {sorted(got)} rejected {sorted(rejected)} notes {tailer.notes}")

        for name, lin in self.files.items():
            if not (self._matched(name) or lin.known):
                continue
            if lin.partial and not lin.partial.abandoned and lin.partial.seen_at is not None \
                    and self.now - lin.partial.seen_at >= GRACE:
                lin.partial.abandoned = True
                self.abandoned.add(lin.partial.id)
            elif lin.partial and lin.partial.seen_at is None:
                lin.partial.seen_at = self.now
            if self._path(name).stat().st_size > 0:
                lin.known = True

        twice = {i: n for i, n in self.delivered.items() if n > 1}
        assert not twice, f"delivered more than once: {twice}\n" + "\n".join(self.log)
        assert set(self.delivered) <= self.complete
        for name, lin in self.files.items():
            if self._matched(name) or lin.known:
                lost = [i for i in lin.ids if i not in self.delivered]
                assert not lost, f"{name}: rows never delivered: {lost}\n" + "\n".join(self.log)
        assert set(self.rejected) == self.abandoned and all(n == 1 for n in self.rejected.values())

    def _matched(self, name: str) -> bool:
        return name.endswith(".jsonl") and not name.startswith(".")


Ingest.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])
TestIngest = Ingest.TestCase
