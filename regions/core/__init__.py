"""The sans-IO node: no network, no threads, no clock (time is an argument).

What a region *does* lives here, so that the asyncio driver (`regions.runtime.driver`) and the
simulator's scheduler (`simulations.world`) run the same code: the event store's aggregates
(`store`), the decision core (`node` and the unit of work, caches and idempotency it is built
from), the inbox, the outbox and feed relays over one log tailer, the deadline timer, the
command service, and the ports the adapters implement (`ports`). It imports nothing of
`regions` outside `core`.
"""
