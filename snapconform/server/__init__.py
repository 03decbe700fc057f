"""The reference server: a faithful GET /api/snapservice/tasks with the control protocol."""
