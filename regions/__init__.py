"""The region node: composition root, event store, outbox relay, inbox, broker port, SDK."""
