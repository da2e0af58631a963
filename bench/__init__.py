"""Benchmarks: each runs alone as ``make bench-<name>`` (docs/benchmarks.md)."""
