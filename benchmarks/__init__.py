"""Benchmarks of the platform against plain baselines; each module prints its figures (BENCHMARKS.md)."""
