"""What a run leaves behind: a JSON record with machine info, and a PNG of distributions."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Series colours, one per label in order (matplotlib's colour-blind-safe "tab10" start).
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_LOG_SCALE_SPREAD = 8  # a panel whose largest value is this many times its smallest goes log


def machine_info(packages: Iterable[str]) -> dict[str, Any]:
    """CPU model and count, memory, OS, Python, load and the versions of `packages`."""
    versions = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_total_mb": _memory_total_mb(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "load_average": list(os.getloadavg()),
        "packages": versions,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total_mb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write `record` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class Panel:
    """One plot panel: a metric's distribution for each series (label -> values)."""

    title: str
    series: dict[str, list[float]]
    unit: str = "ms"
    marks: dict[str, float] = field(default_factory=dict)  # label -> value, a dashed line each


def plot_panels(path: Path, panels: Sequence[Panel], title: str) -> None:
    """Draw each panel as box plots with every value as a dot on top; write a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 5.0), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        _draw_panel(ax, panel)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw_panel(ax: Any, panel: Panel) -> None:
    from matplotlib.ticker import FuncFormatter, LogFormatter

    labels = list(panel.series)
    data = [panel.series[label] for label in labels]
    positions = range(1, len(labels) + 1)
    filled = [(p, d) for p, d in zip(positions, data, strict=True) if d]
    if filled:
        boxes = ax.boxplot(
            [d for _, d in filled],
            positions=[p for p, _ in filled],
            widths=0.55,
            showfliers=False,
            patch_artist=True,
            medianprops={"color": "black"},
        )
        for patch, (p, _) in zip(boxes["boxes"], filled, strict=True):
            patch.set_facecolor(_COLOURS[(p - 1) % len(_COLOURS)])
            patch.set_alpha(0.35)
        for p, values in filled:
            # A fixed spread (not random) keeps plots of the same data identical.
            offsets = [((i * 0.618) % 1 - 0.5) * 0.3 for i in range(len(values))]
            colour = _COLOURS[(p - 1) % len(_COLOURS)]
            xs = [p + o for o in offsets]
            ax.scatter(xs, values, s=9, color=colour, alpha=0.7, zorder=3)
        everything = [v for _, d in filled for v in d]
        if min(everything) > 0 and max(everything) / min(everything) > _LOG_SCALE_SPREAD:
            ax.set_yscale("log")
            # Plain numbers, not powers of ten; minor ticks labelled only on short ranges.
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    for i, (label, value) in enumerate(panel.marks.items()):
        ax.axhline(value, color="grey", linestyle=("--", ":")[i % 2], linewidth=1, label=label)
    if panel.marks:
        ax.legend(fontsize=8, loc="best")
    ax.set_xticks(
        list(positions), [f"{lab}\n(n={len(d)})" for lab, d in zip(labels, data, strict=True)]
    )
    ax.set_title(panel.title, fontsize=10)
    ax.set_ylabel(panel.unit)
    ax.grid(axis="y", alpha=0.3, which="both")
