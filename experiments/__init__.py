"""Training and evaluation entry points and benchmarks."""
