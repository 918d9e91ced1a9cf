"""The demo workspace: a synthetic fleet with planted incidents, and a writer that keeps it live."""

from console.demo.live import LiveWriter
from console.demo.workspace import build_workspace

__all__ = ["LiveWriter", "build_workspace"]
