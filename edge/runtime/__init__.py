"""The gateway's asyncio runtime: bounded sample queue, source supervisor, ingest loop."""
