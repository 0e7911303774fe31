"""Helpers shared by every test tier (ports, real services, skip-or-fail policy)."""
