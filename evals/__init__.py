"""Benchmarks and evaluation data of the secretary (run as ``python -m evals.<name>``)."""
