"""The run's summary: reproducible counts (inside the trace hash's reach) and wall figures."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from simulations import checkers, projection_checks
from simulations.runner import RunResult

#: "closed": staff closed a transfer that needed attention (`simulations.closing`); before it
#: was an outcome, such a case was counted open.
OUTCOMES = ("completed", "rejected", "refused", "withdrawn", "lapsed", "closed",
            "needs_attention")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarise(result: RunResult) -> dict[str, Any]:
    world, workload = result.world, result.workload
    outcomes = checkers.outcomes(world, workload)
    counts = {k: sum(1 for o in outcomes.values() if o == k) for k in OUTCOMES}
    counts["other"] = sum(1 for o in outcomes.values() if o not in OUTCOMES)
    lat = world.latencies_ms
    summary: dict[str, Any] = {
        "seed": result.seed,
        "cases": len(workload.cases_started),
        **{k: counts[k] for k in OUTCOMES},
        "open": counts["other"],
        "disagreements": len(checkers.disagreements(world, workload)),
        "lost": checkers.lost_messages(world),
        "duplicate_effects": checkers.duplicate_effects(world, workload),
        "invariant_violations": len(result.violations),
        "projection_mismatches": projection_checks.mismatches(world),
        "converged": result.converged,
        "trace_hash": world.trace.hexdigest(),
        "commits": world.trace.commits,
        "virtual_days": round((world.sched.now - world.sched_start).total_seconds() / 86400, 3),
        "faults_injected": dict(sorted(world.plan.injected.items())),
        "commands": dict(sorted(workload.commands.items())),
        "edges": dict(sorted(world.edges.items())),
        "steering": dict(sorted(workload.steering.items())),
        "events": dict(sorted(world.events_by_type.items())),
        "latency_p50_ms": round(percentile(lat, 50), 3),
        "latency_p99_ms": round(percentile(lat, 99), 3),
        "latency_mean_ms": round(statistics.fmean(lat), 3) if lat else 0.0,
        "wall_seconds": round(result.wall_seconds, 3),
        "cases_per_second": round(len(workload.cases_started) / result.wall_seconds, 1)
        if result.wall_seconds else 0.0,
        "violations": result.violations[:50],
    }
    return summary


def write_report(summary: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "summary.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
                    encoding="utf-8")
    return path
