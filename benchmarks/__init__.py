"""Benchmarks: every hot path of the layer against hand-written asyncpg, in the same run."""
