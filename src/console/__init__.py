"""mlops-console: a keyboard-driven terminal operations console for ML and LLM models in production."""

__version__ = "0.1.0"
