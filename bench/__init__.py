"""Benchmarks: small command-line programs, one per question."""
