"""The store's commit point: one small JSON file naming every segment and every read cursor.

Segments are written first, under fresh names; the manifest that names them replaces the old one
with one atomic rename. So the rows and the cursors that cover them commit together: a crash or a
failed refresh before the rename leaves the old manifest, whose cursors re-read what was lost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from console.private_files import replace_private

FORMAT = 2
KINDS = ("predictions", "labels", "deployments", "malformed")


@dataclass
class Manifest:
    generation: int = 0
    segments: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})  # kind -> names
    cursors: dict[str, dict] = field(default_factory=dict)  # source id -> its read state (file cursors, objects seen, a poll)
    sources: str = ""  # fingerprint of the configured sources the rows came from
    # each source's own names for contract fields (`[logs.fields]`), by source id, for the sources that have any
    names: dict[str, list] = field(default_factory=dict)
    retired: list[list] = field(default_factory=list)  # [name, when]: merged away, deleted once no reader needs them
    format: int = FORMAT
    # why the file could not be read (cut short, not JSON, not a manifest's fields): it is then an empty manifest,
    # which the writer commits after reading the logs again (`Ingest._refresh`). Not saved, and not copied to the
    # manifest committed after it
    damaged: ClassVar[str] = ""

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except ValueError as exc:  # (a UnicodeDecodeError too)
            return cls._damaged(path, type(exc).__name__)
        if not isinstance(data, dict):
            return cls._damaged(path, "not a JSON object")
        if data.get("format") != FORMAT:
            return cls()
        try:
            m = cls(**data)
        except TypeError:
            return cls._damaged(path, "fields not a manifest's")
        if not isinstance(m.segments, dict) or not isinstance(m.cursors, dict):
            return cls._damaged(path, "fields not a manifest's")
        for k in KINDS:
            m.segments.setdefault(k, [])
        return m

    @classmethod
    def _damaged(cls, path: Path, why: str) -> "Manifest":
        m = cls()
        m.damaged = f"the store's {path.name} cannot be read ({why})"
        return m

    def _text(self) -> str:
        """The manifest as JSON, in one call of the C encoder: `json.dump` to a file runs Python's own encoder,
        and `asdict` deep-copies every cursor first (together 4-5 ms of a live refresh's ~100 ms of CPU).
        Cursors are plain dicts by contract; anything else goes the general way."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: what asdict gives, uncopied
        try:
            return json.dumps(data, separators=(",", ":"))
        except TypeError:
            return json.dumps(asdict(self), separators=(",", ":"))

    def save(self, path: Path) -> None:
        replace_private(path, self._text(), durable=True)
