"""The conformance engine: target client, oracle, requirement catalogue and runner."""
