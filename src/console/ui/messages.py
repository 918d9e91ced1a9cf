"""Messages that workers post to the app; handlers on the UI side own every state change."""

from __future__ import annotations

from textual.message import Message


class SnapshotReady(Message):
    def __init__(self, snapshot, rearm: bool = True, findings: list | None = None, first: bool = False,
                 gen: int | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.findings = findings  # the monitor worker's incidents (None: unchanged)
        self.rearm = rearm  # False: an extra snapshot (monitoring finished), the poll timer is already set
        self.first = first  # the quick look of the first frame (the refresh and the full list follow)
        self.gen = gen  # the service's `view_gen` when the work began: another view's results are not shown


class RefreshFailed(Message):
    def __init__(self, error: str, poll: bool = True) -> None:
        super().__init__()
        self.error = error
        self.poll = poll  # False: the monitor worker failed; the poll's own timer is not this one's


class RegistryChecked(Message):
    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
