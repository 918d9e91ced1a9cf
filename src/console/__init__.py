"""mlops-console: a keyboard-driven terminal operations console for ML and LLM models in production."""

from console import arrow_values as _arrow_values

__version__ = "0.1.0"

_arrow_values.watch()  # pyarrow's pandas shim, looked at once when pyarrow is first imported (console.arrow_values)
