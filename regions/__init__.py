"""The region node, in layers that import only downwards (`tests/unit/test_architecture.py`).

    core      the sans-IO node: event store, decision core, inbox, relays, timer, ports
    wire      the envelope and every codec (links, control, feed, commands, documents)
    adapters  brokers, stores, commit wakers, the worker lock, blob stores
    runtime   the composition root, the asyncio driver, endpoints, metrics, operations
    sdk       Python clients for back-ends (commands, feed, documents) and an example back-end
    contract  the AsyncAPI document generated from all of the above

`docs/architecture.md` is the map: what may import what, and one case walked through the code.
"""
