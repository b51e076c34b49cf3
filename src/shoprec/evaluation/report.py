"""Benchmark reports: ``results.json`` (machine-readable), ``results.md`` and ``results.png``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Columns of the main markdown table (metric, header, decimals).
MAIN_COLUMNS = (
    ("HR@10", "HR@10", 4),
    ("NDCG@10", "NDCG@10", 4),
    ("HR@20", "HR@20", 4),
    ("NDCG@20", "NDCG@20", 4),
    ("MRR@20", "MRR@20", 4),
    ("coverage@10", "cov@10", 3),
    ("train_seconds", "fit s", 1),
    ("eval_seconds", "eval s", 1),
)

#: Beyond-accuracy columns, shown when present.
EXTRA_COLUMNS = (
    ("novelty@10", "novelty@10", 2),
    ("ARP@10", "ARP@10", 1),
    ("pop_percentile@10", "pop pct@10", 3),
    ("ILD_category@10", "ILD cat@10", 3),
    ("ILD_embedding@10", "ILD emb@10", 3),
)

#: Metrics compared in the plot.
PLOT_METRICS = ("HR@10", "NDCG@10")


def _json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _cell(row: dict[str, Any], name: str, decimals: int) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{decimals}f}"
    std = row.get(f"{name}_std")
    if std is not None and math.isfinite(std):
        text += f" ± {std:.{decimals}f}"
    return text


def _table(header: list[str], lines: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return out


def _params(row: dict[str, Any]) -> str:
    if "skipped" in row:
        return f"not run: {row['skipped'].split(';')[0]}"
    parts = [f"{k}={v}" for k, v in row.get("params", {}).items()]
    if row.get("epochs") is not None:
        parts.append(f"epochs={row['epochs']}")
    return ", ".join(parts) or "defaults"


def summary(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the main comparison (one line per model)."""
    header = ["model", *(h for _, h, _ in MAIN_COLUMNS), "chosen on validation"]
    lines = [
        [str(r["model"]), *(_cell(r, n, d) for n, _, d in MAIN_COLUMNS), _params(r)] for r in rows
    ]
    return header, lines


def markdown(rows: Sequence[dict[str, Any]], title: str) -> str:
    """The markdown report: main table, beyond-accuracy table and NDCG@10 by history length."""
    seeds = max((int(r.get("seeds", 1)) for r in rows), default=1)
    lines = [f"# {title}", ""]
    if seeds > 1:
        lines += [f"Mean ± standard deviation over {seeds} seeds.", ""]
    lines += _table(*summary(rows))
    extra = [(n, h, d) for n, h, d in EXTRA_COLUMNS if any(n in r for r in rows)]
    if extra:
        lines += ["", "Beyond accuracy (popularity measured on the training log):", ""]
        lines += _table(
            ["model", *(h for _, h, _ in extra)],
            [[str(r["model"]), *(_cell(r, n, d) for n, _, d in extra)] for r in rows],
        )
    cases: dict[str, int] = {}
    for r in rows:
        for bucket, stats in r.get("by_activity", {}).items():
            cases.setdefault(bucket, int(stats["cases"]))
    buckets = list(cases)
    if buckets:
        lines += ["", "NDCG@10 by input history length (cases per bucket in brackets):", ""]
        lines += _table(
            ["model", *(f"{b} ({cases[b]:,})" for b in buckets)],
            [
                [str(r["model"])]
                + [_cell(r.get("by_activity", {}).get(b, {}), "NDCG@10", 4) for b in buckets]
                for r in rows
            ],
        )
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """Grouped bar chart of HR@10 and NDCG@10 per model (error bars = std over seeds)."""
    # The object-oriented API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.0, 1.2 * len(rows) + 2.0), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(PLOT_METRICS)
    for j, metric in enumerate(PLOT_METRICS):
        values = [float(r.get(metric) or 0.0) for r in rows]
        errors = [float(r.get(f"{metric}_std") or 0.0) for r in rows]
        xs = [i + (j - (len(PLOT_METRICS) - 1) / 2) * width for i in range(len(rows))]
        bars = ax.bar(xs, values, width, yerr=errors if any(errors) else None, label=metric)
        ax.bar_label(bars, fmt="%.4f", fontsize=7, padding=2)
    ax.set_xticks(range(len(rows)), [str(r["model"]) for r in rows])
    ax.set_ylabel("full-catalogue metric")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8)
    ax.margins(y=0.15)
    fig.savefig(path, dpi=120)


def write_results(rows: Sequence[dict[str, Any]], output: Path, title: str) -> None:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``output`` (created)."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(
        json.dumps(_json_safe(list(rows)), indent=2) + "\n", encoding="utf-8"
    )
    (output / "results.md").write_text(markdown(rows, title), encoding="utf-8")
    plot(rows, output / "results.png", title)
