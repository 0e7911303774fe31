"""Pydantic Create/Update/Read models of the planning API."""
