"""Store fixtures for the personal-data tests: the lead tests' own (SQLite and a throwaway PostgreSQL, each fresh)."""

from tests.integration.leads.conftest import engine, postgres, store_url

__all__ = ["engine", "postgres", "store_url"]
