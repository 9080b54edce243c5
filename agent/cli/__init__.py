"""The ``secretary`` command (:mod:`agent.cli.app` builds it; ``main`` is the console script)."""

from agent.cli.app import cli, main

__all__ = ["cli", "main"]
