"""Service functions: keyword-only, one transaction each, no HTTP."""
