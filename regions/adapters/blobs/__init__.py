"""Document bytes (materials): content-addressed blob stores — the port, limits and memory store
(`base`), files (`fs`), PostgreSQL (`pg`) — and the store a node's settings name (`setup`).

Who may fetch a document is the core's decision (`regions.core.documents`); serving and
fetching it over NATS are `regions.runtime.documents` and `regions.sdk.documents`.
"""
