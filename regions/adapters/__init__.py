"""Implementations of the core's ports: brokers (in-memory JetStream, NATS), event stores
(memory, SQLite, PostgreSQL) with their commit wakers, blob stores, the worker lock, and the
throwaway servers tests and the bench start (`brokers.nats_server`, `pg_server`).

Adapters import `core` and `wire`, never `runtime`: they know how to talk to a service, not
when a node does.
"""
