"""Charts for the supervision dashboard, drawn on the server as SVG with matplotlib.

Why server-side: the deployment may have no internet (no CDN), and an SVG in the page needs no
script, prints, and scales on a phone. Each chart carries a <title> and the page gives the same
figures as a table, so a screen reader loses nothing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

# "findfont: Failed to find font weight normal" for CJK fonts shipping one weight: harmless noise.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
_CJK = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei", "PingFang SC")
INK, LINK, BORDER, POOR = "#0b0c0c", "#1d70b8", "#b1b4b6", "#d4351c"


def _font() -> list[str]:
    """A CJK font if the machine has one; otherwise labels fall back to the ASCII captions."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return [name for name in _CJK if name in installed] + ["DejaVu Sans"]


def _svg(figure: plt.Figure, title: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Title": title})
    plt.close(figure)
    text = buffer.getvalue()
    start = text.index("<svg")
    # role=img + aria-label: the chart is one image with a name; the table beside it has the data.
    return text[:start] + text[start:].replace(
        "<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def _axes(width: float = 5.0, height: float = 2.6) -> tuple[plt.Figure, plt.Axes]:
    plt.rcParams["font.family"] = _font()
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: selectable, searchable, small
    figure, axes = plt.subplots(figsize=(width, height))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(colors=INK)
    return figure, axes


def on_time_rate(points: Sequence[tuple[str, float]], title: str = "按期办结率") -> str:
    """On-time rate (0–1) per period as a line, with the periods' labels on the x axis."""
    figure, axes = _axes()
    labels = [label for label, _ in points]
    rates = [100.0 * rate for _, rate in points]
    axes.plot(range(len(points)), rates, color=LINK, marker="o", linewidth=2)
    axes.set_xticks(range(len(points)), labels)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.grid(axis="y", color=BORDER, linewidth=0.5)
    return _svg(figure, title)


def handling_days(days: Sequence[float], title: str = "办理用时分布（天）") -> str:
    """Handling time in calendar days, submission to finish, as a histogram (whole-day bins)."""
    figure, axes = _axes()
    top = max([*days, 1.0])
    bins = range(0, int(top) + 2)
    axes.hist(list(days), bins=list(bins), color=LINK, edgecolor="white")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))  # whole days, whole cases
    axes.set_xlabel("天" if len(_font()) > 1 else "days")
    axes.set_ylabel("件" if len(_font()) > 1 else "cases")
    axes.grid(axis="y", color=BORDER, linewidth=0.5)
    return _svg(figure, title)


def rating_bars(by_score: Sequence[int], title: str = "好差评分布") -> str:
    """How many ratings gave each score 1–5, as bars; 差评 (1–2) in the error colour."""
    figure, axes = _axes(5.0, 2.2)
    colours = [POOR if score <= 2 else LINK for score in range(1, 6)]
    axes.bar(range(1, 6), list(by_score), color=colours)
    axes.set_xticks(range(1, 6), [f"{s}" for s in range(1, 6)])
    axes.set_xlabel("分" if len(_font()) > 1 else "score")
    axes.set_ylabel("件" if len(_font()) > 1 else "ratings")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color=BORDER, linewidth=0.5)
    return _svg(figure, title)
