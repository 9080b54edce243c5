"""Secretary: an AI personal secretary that never acts without a human approval."""

__version__ = "0.1.0"
