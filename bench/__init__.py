"""Benchmarks: each module measures Atelier against a bare-library ceiling in the same run."""
