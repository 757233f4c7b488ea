"""Oktually's benchmark suite (`make bench`, `make bench-quick`); results go to BENCHMARKS.md."""
