"""The conformance engine: the target client, the oracle, the requirement catalogue and checks.

It judges one target: :mod:`.target` sends (only GET and the session calls), :mod:`.harness`
drives a check, :mod:`.oracle` says what a conformant answer is. It never imports the reference
server, the reports or the commands: :mod:`snapconform.run` wires it to them.
"""
