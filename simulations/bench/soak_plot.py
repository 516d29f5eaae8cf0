"""The soak's RSS curve as a PNG: `python -m simulations.bench.soak_plot BENCH.json OUT.png`.

Reads the JSON line of a full `tongban bench --json` run: each node's resident set after every
phase (warm-up, paced, burst, soak chunks) against the cases completed so far, with the
checkpoints (10,000 and 100,000 cases) marked, so memory growth per case can be read off.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the file backend


def curve(report: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """(cases completed, RSS MB) per node after each phase, and at the checkpoints."""
    points: dict[str, list[tuple[int, float]]] = {}
    done = int(report.get("warmup_cases", 0))
    phases = [(name, p["completed"], {n: f["rss_mb"] for n, f in p["processes"].items()})
              for name, p in report["phases"].items()]
    phases += [(s["phase"], s["cases"], s["rss_mb"]) for s in report["soak"]]
    for _, completed, rss in phases:
        done += completed
        for node, mb in rss.items():
            points.setdefault(node, []).append((done, mb))
    for node, rss in report["rss"].items():
        for cases, mb in rss["at_cases_mb"].items():
            points.setdefault(node, []).append((int(cases), mb))
    return {node: sorted(found) for node, found in points.items()}


def plot(report: dict[str, Any], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for node, found in curve(report).items():
        ax.plot([c for c, _ in found], [mb for _, mb in found], marker="o", markersize=3,
                label=f"{node} node")
    for checkpoint in report.get("rss_checkpoints", []):
        ax.axvline(checkpoint, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("cases completed")
    ax.set_ylabel("resident set (MB)")
    ax.set_title("tongban bench soak: node memory against cases")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


def main(argv: list[str]) -> None:
    source, out = Path(argv[0]), Path(argv[1])
    line = [ln for ln in source.read_text().splitlines() if ln.startswith("{")][-1]
    plot(json.loads(line), out)


if __name__ == "__main__":
    main(sys.argv[1:])
