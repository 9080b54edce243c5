"""The foundation every layer stands on: principals, storage, settings, errors, paths, logs.

It imports nothing of the secretary above it (no provider, duty, agent or channel), so
anything may import it. The import contracts in ``pyproject.toml`` check that.
"""
