"""Contract suites every implementation of a port runs (see README.md); not collected alone."""
