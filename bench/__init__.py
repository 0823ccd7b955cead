"""Benchmarks: zero downtime under load, and migration speed against a floor (see README.md)."""
