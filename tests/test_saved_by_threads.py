"""Files a process's threads save (the TUI's workers, the catch-up's read-ahead): the store's facts, the memos, the
rollups' records. A save while another thread learns a fact must neither fail nor lose it, and a reader never sees a
file half-written by two threads saving it at once."""

from __future__ import annotations

import json
import sys
import threading

from console.private_files import replace_private
from console.store.facts import Facts


def test_a_save_while_another_thread_learns_facts_neither_fails_nor_loses_them(tmp_path):
    facts = Facts(tmp_path)
    for i in range(20_000):  # a saved copy long enough for threads to switch inside it
        facts.remember(f"file{i}", [i, "clean"])
    errors: list[str] = []
    learnt: list[str] = []
    stop = threading.Event()

    def learn() -> None:
        i = 0
        while not stop.is_set():
            facts.remember(f"new{i}", i)
            learnt.append(f"new{i}")
            i += 1

    def save() -> None:
        for _ in range(5):
            try:
                facts.dirty = True
                facts.save()
            except Exception as exc:  # noqa: BLE001 - the failure under test
                errors.append(repr(exc))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often, as they may on a busy box
    try:
        threads = [threading.Thread(target=learn), threading.Thread(target=save), threading.Thread(target=save)]
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join()
        stop.set()
        threads[0].join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    facts.save()  # what was learnt after the savers' last copy
    kept = Facts(tmp_path)
    assert kept.remembered("file19999") == [19999, "clean"]
    assert learnt and all(kept.remembered(k) is not None for k in learnt)
    assert json.loads((tmp_path / "inplace-facts.json").read_text())["file0"] == {"value": [0, "clean"]}
    assert not list(tmp_path.glob(".*.tmp"))


def test_two_threads_replacing_one_file_leave_a_whole_file_at_every_moment(tmp_path):
    path = tmp_path / "memo.json"
    texts = [json.dumps({"writer": w, "rows": list(range(20_000))}) for w in range(2)]
    replace_private(path, texts[0])
    errors: list[str] = []
    torn: list[int] = []
    done = threading.Event()

    def write(w: int) -> None:
        for _ in range(30):
            try:
                replace_private(path, texts[w])
            except OSError as exc:
                errors.append(repr(exc))

    def read() -> None:
        while not done.is_set():
            text = path.read_text()
            if text not in texts:
                torn.append(len(text))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        reader = threading.Thread(target=read)
        writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
        reader.start()
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        done.set()
        reader.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and torn == []
    assert path.read_text() in texts
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["memo.json"]
