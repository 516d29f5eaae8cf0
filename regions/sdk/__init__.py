"""For region back-ends written in Python: commands (`client.RegionClient`), the region's event
feed (`feed.BackendClient`), a counterpart's documents (`documents.fetch_material`), and an
example back-end that decides pension transfers (`examples.pension`).

Any other language speaks the same contract: `asyncapi.yaml` (`regions.contract`).
"""
