"""Helpers the scripts, tests and benchmarks share (run with the project root on sys.path)."""
