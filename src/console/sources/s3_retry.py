"""One attempt per S3 call for pyiceberg's FileIO, which builds its retry strategy from a class path.

pyiceberg takes `s3.retry-strategy-impl` as "module.Class" and calls the class with no arguments;
without it pyarrow's S3 file system retries (3 attempts), so a silent endpoint cost three timeouts.
"""

from __future__ import annotations

import pyarrow.fs as pafs


class OneAttempt(pafs.AwsStandardS3RetryStrategy):
    def __init__(self) -> None:
        super().__init__(max_attempts=1)
