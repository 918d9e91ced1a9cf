"""The store's facts file is shared by a process's threads (the TUI's workers, the catch-up's read-ahead): a save
while another thread learns a fact must neither fail nor lose it."""

from __future__ import annotations

import json
import sys
import threading

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
