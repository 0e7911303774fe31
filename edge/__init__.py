"""Atelier edge gateway: connectors -> DuckDB buffer -> analytics -> outbox -> central."""
