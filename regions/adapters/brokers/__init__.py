"""Brokers behind the port of `regions.core.ports`: an in-memory JetStream (`memory`) and NATS
JetStream (`nats`, with its pull inbox `nats_pull`); provisioning (`provision`, and `domains`
for several sites); a private pinned nats-server launcher (`nats_server`).

Both brokers pass one contract suite (`tests/contract/broker_contract.py`).
"""
