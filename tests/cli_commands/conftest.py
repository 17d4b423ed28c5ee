"""The command tests build their pools with the pool tests' fixtures (pytest finds fixtures by name)."""

from tests.pool.conftest import env, homes, procs, store  # noqa: F401
