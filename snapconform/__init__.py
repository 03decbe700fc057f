"""snapconform: contract testing and fuzzing for GET /api/snapservice/tasks."""

from snapconform._version import __version__

__all__ = ["__version__"]
