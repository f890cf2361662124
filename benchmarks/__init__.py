"""Benchmarks: side-by-side measurements written to ``benchmarks/results/``; not tests."""
