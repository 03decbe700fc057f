"""Hypothesis strategies for snapconform, derived from the schemas in ``contracts/``."""
