"""The one error type callers catch: every failure here says which service and why."""


class ServiceError(RuntimeError):
    """A service could not be installed, started or stopped; the message says which and why."""
