"""Imports the monitoring screens so each registers itself (`register_screen`) for the palette, `:` and help.

    import console.ui.screens.monitoring_registry  # noqa: F401

model (needs a model): serving, health, quality, drift, cost and firing incidents of one model;
drift, health, quality, fairness, cost (need a model); incidents (fleet-wide).
"""

from __future__ import annotations

from console.ui.screens import cost, drift, fairness, health, incidents, model, quality  # noqa: F401

__all__ = ["cost", "drift", "fairness", "health", "incidents", "model", "quality"]
