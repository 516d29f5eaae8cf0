"""`tongban bench`: what this machine allows, and how close two real nodes come to it.

One run measures, in this order, so they never compete for the two cores:
1. the raw bounds (`bounds`): PostgreSQL's single-row commit rate, eventsourcing's batched insert
   rate on one events table, JetStream's durable publish rate (`sync_interval: always`) and its
   fetch+ack rate;
2. the bare pipeline (`bare`): the same two-region transfer on the same PostgreSQL and NATS with
   the same event store library, batched at every hop, without any of the product's features —
   the bound the product's burst is divided by (`ratio_to_bare_pipeline`);
3. two region nodes, one OS process each (`worker`), on PostgreSQL and a private pinned NATS,
   completing pension transfers (企业职工养老保险关系转移) driven by an automatic back-end
   (`autopilot`): window staff accept, the origin's officer approves and issues the info sheet,
   its treasury remits, the destination's bank reports the money. Paced phases measure the
   cross-region propagation latency (commit at origin → commit at destination); a closed-loop
   burst measures completed cases per second; a long soak measures memory growth.
Figures and the ratios of the end-to-end figures to the bounds are assembled in `figures`;
`run` orchestrates services, phases and clean-up. Reference: shared/reference/throughput.md.
"""
