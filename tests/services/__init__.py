"""Real services for the integration tiers (NATS, PostgreSQL): thin pytest fixtures over the
reusable launchers in `regions` (e.g. `regions.adapters.brokers.nats_server`), so `tongban bench` and the
tests start services the same way.
"""
