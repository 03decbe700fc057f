"""snapconform: contract testing and fuzzing for GET /api/snapservice/tasks."""

__version__ = "0.1.0"
