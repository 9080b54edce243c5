"""The one exception type for expected failures: its message is a sentence for a person."""


class SecretaryError(Exception):
    """An expected failure with a sentence for a person (what happened, what to do)."""
