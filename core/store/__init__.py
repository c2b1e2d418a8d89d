"""The one place that talks SQL: the DuckDB file, its migrations and its row functions."""

from core.store.connection import Store

__all__ = ["Store"]
