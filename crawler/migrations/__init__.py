"""Alembic migrations for the schoolwatch schema (run by ``crawler.storage.migrate``)."""
