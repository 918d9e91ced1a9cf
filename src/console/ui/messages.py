"""Messages that workers post to the app; handlers on the UI side own every state change."""

from __future__ import annotations

from textual.message import Message


class SnapshotReady(Message):
    def __init__(self, snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class RegistryChecked(Message):
    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
