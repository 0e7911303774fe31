"""Database layer: tables, engine set-up and Alembic migrations."""
