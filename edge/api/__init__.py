"""Edge HTTP API: health, metrics, machine state JSON and the operator tablet pages."""
