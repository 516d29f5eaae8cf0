"""Event stores behind the `Store` port: memory (`memory`, the simulator's), SQLite and
PostgreSQL (`sql`), their commit wakers (`wakers`), and the choice a node's settings make
(`setup.store_for`)."""
