"""The rollup as a Spark job: imported only by `rollup --engine spark` (PySpark is an extra)."""
