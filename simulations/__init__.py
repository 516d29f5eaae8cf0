"""Deterministic multi-region simulation: scheduler, faults, workload, checkers, reports."""
