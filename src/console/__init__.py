"""mlops-console: a keyboard-driven terminal operations console for ML and LLM models in production."""

import os as _os

from console import arrow_values as _arrow_values

# NumPy's OpenBLAS splits a dot product of more than ~10,000 values (the exact Wasserstein of a borderline feature:
# a reference against a day of rows, `drift_stats.wasserstein_sorted`) across one thread per core, whose workers
# then spin waiting for more: on a busy 2-core machine one such dot cost 3-7 ms of CPU instead of 0.2 ms. Read
# when NumPy loads OpenBLAS, so set before anything imports it; an operator's own setting is kept.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

_arrow_values.watch()  # pyarrow's pandas shim, looked at once when pyarrow is first imported (console.arrow_values)
