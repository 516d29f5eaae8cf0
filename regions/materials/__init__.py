"""Materials (scanned documents): content-addressed bytes in a per-region blob store, fetched by
counterparts over an authorised NATS request/reply and checked against the recorded hash.

Modules: `blobs` (the port, limits, the memory store), `fs` and `pg` (durable stores), `setup`
(the store a node's settings name), `wire` (the JSON request/reply on `tb.v1.doc.<region>`),
`authority` (who may fetch what), `endpoint` (the node's driver service), `fetch` (the client).

This package module imports nothing on purpose: `regions.bootstrap` imports `blobs`, and the
endpoint imports the driver, which imports the bootstrap.
"""
