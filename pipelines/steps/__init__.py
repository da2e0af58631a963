"""The pipeline's writer steps: each writes a prepared batch to one store.

The worker runs its steps on every batch, each on a thread of its own, with the same retry,
backoff, timing and metrics; it commits the batch only after every step (and the dead-letter
log) has written it. A new store is one module here with a ``WriteStep`` and one line in
``pipelines.runner.STEPS``.
"""

from pipelines.steps.base import PreparedBatch, WriteStep

__all__ = ["PreparedBatch", "WriteStep"]
