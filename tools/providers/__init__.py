"""Backends behind each duty: local (embedded default) and, later, real accounts."""
