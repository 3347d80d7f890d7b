"""Job kinds: the plug-in API, and one module per built-in kind.

A kind of one's own is a ``@job_kind`` function (or a ``JobKind`` subclass) in
any module, served by naming it in ``STEPSTREAM_KINDS`` (see app/jobs/loading.py).
"""

from app.jobs.base import JobFailed, JobKind, Params, Step, StepContext
from app.jobs.function import job_kind

__all__ = ["JobFailed", "JobKind", "Params", "Step", "StepContext", "job_kind"]
