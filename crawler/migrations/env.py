"""Alembic environment: runs on the connection ``crawler.storage.migrate`` hands over."""

from alembic import context

from crawler.storage import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise SystemExit("run migrations through schoolwatch (crawler.storage.migrate), not alembic directly")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
