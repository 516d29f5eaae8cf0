"""The node at run time: the composition root (`bootstrap.build_region`), the asyncio driver of
the sans-IO cores (`driver`), the NATS request/reply endpoints (`endpoints`, `commands`,
`documents`), what /readyz and /metrics read (`status`, `metrics`), crash points for the fault
tests, and quarantine operations.
"""
