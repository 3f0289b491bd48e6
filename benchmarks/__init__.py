"""Benchmarks: every hot path of the layer against four baselines, in the same run.

The baselines: hand-written asyncpg on a pool, plain Tortoise ORM, SQLAlchemy 2 async, and the
asyncpg statements on one bare connection (the floor). ``python -m benchmarks``.
"""
