"""Synthetic data for benchmarks (``flask catalog generate``): not part of selling anything."""
