"""Benchmark reports: ``results.json``, ``results.md``, ``results.png`` and ``report.html``.

The HTML report is one self-contained file (plots embedded as PNG data URIs, no scripts, no
external assets): the comparison tables, metric bars per model, NDCG@10 by shopper activity,
catalogue coverage against popularity bias, the learning curve of iterative models (training
loss and validation NDCG@10 per epoch) and, for models that report one (learned rankers),
their feature importance. That importance is also written as ``feature_importance.json``
(model -> feature -> share) beside ``results.json``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
    ("gini@10", "Gini@10", 3),
    ("long_tail@10", "tail@10", 3),
    ("exposure_gap_brand@10", "brand gap@10", 3),
)

#: Metrics compared in the plot.
PLOT_METRICS = ("HR@10", "NDCG@10")

#: Features listed per model in the markdown table / plotted in the HTML report.
TOP_FEATURES_TABLE = 10
TOP_FEATURES_PLOT = 20
_IMPORTANCE_NOTE = (
    f"Feature importance (share of the ranker's total, mean over seeds; top {TOP_FEATURES_TABLE}):"
)


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
    if _buckets(rows):
        lines += ["", "NDCG@10 by input history length (cases per bucket in brackets):", ""]
        lines += _table(*_activity_table(rows))
    if importances(rows):
        lines += ["", _IMPORTANCE_NOTE, ""]
        lines += _table(*_importance_table(rows))
        recall = _recall_note(rows)
        if recall:
            lines += ["", recall]
    return "\n".join(lines) + "\n"


def importances(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Model -> its feature importance (most important first), for the rows that report one."""
    return {
        str(r["model"]): dict(r["feature_importance"]) for r in rows if r.get("feature_importance")
    }


def _importance_table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the top features: one column per model, ``name (share)`` cells."""
    ranked = {m: list(imp.items())[:TOP_FEATURES_TABLE] for m, imp in importances(rows).items()}
    depth = max(len(top) for top in ranked.values())
    lines = [
        [str(i + 1)]
        + [f"{top[i][0]} ({top[i][1]:.3f})" if i < len(top) else "–" for top in ranked.values()]
        for i in range(depth)
    ]
    return ["rank", *ranked], lines


def _recall_note(rows: Sequence[dict[str, Any]]) -> str:
    """A line with each ranker's candidate recall (share of targets among its candidates)."""
    parts = [
        f"{r['model']} {_cell(r, 'candidate_recall', 3)}"
        for r in rows
        if r.get("candidate_recall") is not None
    ]
    if not parts:
        return ""
    return "Candidate recall (share of targets among the candidates): " + ", ".join(parts) + "."


def _activity_table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of NDCG@10 per activity bucket (one line per model)."""
    cases = _buckets(rows)
    header = ["model", *(f"{b} ({n:,})" for b, n in cases.items())]
    lines = [
        [str(r["model"])]
        + [_cell(r.get("by_activity", {}).get(b, {}), "NDCG@10", 4) for b in cases]
        for r in rows
    ]
    return header, lines


def _figure(width: float, height: float = 3.6) -> Figure:
    # The object-oriented API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def metric_bars(rows: Sequence[dict[str, Any]], title: str) -> Figure:
    """Grouped bar chart of HR@10 and NDCG@10 per model (error bars = std over seeds)."""
    fig = _figure(max(4.0, 1.2 * len(rows) + 2.0))
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
    return fig


def _buckets(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Activity bucket -> number of cases, in the order the rows report them."""
    cases: dict[str, int] = {}
    for r in rows:
        for bucket, stats in r.get("by_activity", {}).items():
            cases.setdefault(bucket, int(stats["cases"]))
    return cases


def activity_plot(rows: Sequence[dict[str, Any]]) -> Figure:
    """NDCG@10 per input-history-length bucket, one line per model."""
    cases = _buckets(rows)
    fig = _figure(max(4.5, 0.9 * len(cases) + 2.5))
    ax = fig.add_subplot()
    labels = [f"{b}\n({n:,})" for b, n in cases.items()]
    for r in rows:
        values = [r.get("by_activity", {}).get(b, {}).get("NDCG@10", math.nan) for b in cases]
        ax.plot(labels, [float(v) for v in values], marker="o", label=str(r["model"]))
    ax.set_xlabel("events in the shopper's history (cases)")
    ax.set_ylabel("NDCG@10")
    ax.set_title("NDCG@10 by shopper activity", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def coverage_plot(rows: Sequence[dict[str, Any]]) -> Figure:
    """Catalogue coverage@10 against popularity bias (mean popularity percentile) per model."""
    fig = _figure(5.0)
    ax = fig.add_subplot()
    for r in rows:
        x, y = r.get("pop_percentile@10"), r.get("coverage@10")
        if x is None or y is None:
            continue
        ax.scatter([x], [y], s=60)
        ax.annotate(str(r["model"]), (x, y), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("popularity percentile of recommended items @10 (higher = more popular)")
    ax.set_ylabel("catalogue coverage@10")
    ax.set_title("Coverage vs popularity bias (up-left is broader)", fontsize=9)
    ax.margins(0.2)
    return fig


def importance_plot(model: str, importance: dict[str, float]) -> Figure:
    """Horizontal bars of a model's most important features (the largest on top)."""
    top = sorted(importance.items(), key=lambda item: -item[1])[:TOP_FEATURES_PLOT]
    fig = _figure(6.5, 0.28 * len(top) + 1.2)
    ax = fig.add_subplot()
    names = [name for name, _ in top][::-1]
    bars = ax.barh(names, [share for _, share in top][::-1])
    ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("share of the total importance")
    ax.set_title(f"{model}: top {len(top)} features", fontsize=9)
    ax.margins(x=0.15)
    return fig


def learning_curve_plot(row: dict[str, Any]) -> Figure:
    """A model's chosen fit per epoch: training loss (left) and validation NDCG@10 (right).

    The best validation epoch (the one kept, and the final fits' epoch count) is marked.
    """
    curve = row["learning_curve"]
    epochs = [int(r["epoch"]) for r in curve]
    fig = _figure(6.0)
    ax = fig.add_subplot()
    ax.plot(epochs, [float(r["loss"]) for r in curve], color="tab:blue", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss", color="tab:blue")
    if any("ndcg@10" in r for r in curve):
        right = ax.twinx()
        ndcg = [float(r.get("ndcg@10", math.nan)) for r in curve]
        right.plot(epochs, ndcg, color="tab:orange", marker="o", markersize=3)
        right.set_ylabel("validation NDCG@10", color="tab:orange")
    if row.get("epochs"):
        ax.axvline(int(row["epochs"]), color="grey", linestyle="--", linewidth=1)
    ax.set_title(f"{row['model']}: learning curve (dashed: best validation epoch)", fontsize=9)
    return fig


def plot(rows: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """Write the metric bar chart (see :func:`metric_bars`) to ``path`` as PNG."""
    metric_bars(rows, title).savefig(path, dpi=120)


def _data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _html_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in lines
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;"
    "padding:0 16px;color:#1d2330}table{border-collapse:collapse;margin:8px 0 20px}"
    "td,th{border-bottom:1px solid #e3e6eb;padding:4px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}figure{margin:8px 0 24px}"
    "img{max-width:100%;border:1px solid #e3e6eb}figcaption{color:#6b7280}"
)


def _html_figure(name: str, fig: Figure, caption: str) -> str:
    alt = html.escape(caption, quote=True)
    return (
        f"<figure id='{html.escape(name, quote=True)}'><img alt='{alt}' src='{_data_uri(fig)}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def html_report(rows: Sequence[dict[str, Any]], title: str) -> str:
    """A self-contained HTML page: tables and plots embedded as PNG data URIs.

    The plots: metric bars, NDCG@10 by activity and coverage vs popularity bias (when the rows
    carry those figures), and one feature-importance chart per model that reports importance.
    """
    ran = [r for r in rows if "skipped" not in r]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p>Full-catalogue ranking on the test target; hyperparameters chosen on validation "
        "only. Generated by <code>shoprec</code>.</p>",
        "<h2>Models</h2>",
        _html_table(*summary(rows)),
    ]
    extra = [(n, h, d) for n, h, d in EXTRA_COLUMNS if any(n in r for r in ran)]
    if extra:
        parts += [
            "<h2>Beyond accuracy</h2>",
            _html_table(
                ["model", *(h for _, h, _ in extra)],
                [[str(r["model"]), *(_cell(r, n, d) for n, _, d in extra)] for r in ran],
            ),
        ]
    if _buckets(ran):
        parts += ["<h2>NDCG@10 by shopper activity</h2>", _html_table(*_activity_table(ran))]
    if ran:
        figures = [("metric-bars", metric_bars(ran, title), "HR@10 and NDCG@10 per model.")]
        if _buckets(ran):
            figures.append(
                (
                    "by-activity",
                    activity_plot(ran),
                    "NDCG@10 by the number of events in the shopper's history.",
                )
            )
        if any("pop_percentile@10" in r and "coverage@10" in r for r in ran):
            figures.append(
                (
                    "coverage-bias",
                    coverage_plot(ran),
                    "Share of the catalogue recommended vs how popular the recommended items are.",
                )
            )
        figures += [
            (
                f"learning-curve-{r['model']}",
                learning_curve_plot(r),
                f"{r['model']}: training loss and validation NDCG@10 per epoch of the fit "
                "that chose its settings.",
            )
            for r in ran
            if r.get("learning_curve")
        ]
        parts.append("<h2>Plots</h2>")
        parts += [_html_figure(name, fig, caption) for name, fig, caption in figures]
    if importances(ran):
        parts += [
            "<h2>Feature importance</h2>",
            f"<p>{html.escape(_IMPORTANCE_NOTE)}</p>",
            _html_table(*_importance_table(ran)),
        ]
        recall = _recall_note(ran)
        if recall:
            parts.append(f"<p>{html.escape(recall)}</p>")
        for model, importance in importances(ran).items():
            caption = f"{model}: the {TOP_FEATURES_PLOT} most important features."
            fig = importance_plot(model, importance)
            parts.append(_html_figure(f"importance-{model}", fig, caption))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(rows: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """Write :func:`html_report` to ``path`` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(rows, title), encoding="utf-8")


def write_results(rows: Sequence[dict[str, Any]], output: Path, title: str) -> None:
    """Write ``results.json``, ``.md``, ``.png`` and ``report.html`` into ``output`` (created).

    When some model reports feature importance, ``feature_importance.json`` too (model ->
    feature -> share, the most important first).
    """
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(
        json.dumps(_json_safe(list(rows)), indent=2) + "\n", encoding="utf-8"
    )
    shares = importances(rows)
    if shares:
        (output / "feature_importance.json").write_text(
            json.dumps(_json_safe(shares), indent=2) + "\n", encoding="utf-8"
        )
    (output / "results.md").write_text(markdown(rows, title), encoding="utf-8")
    plot(rows, output / "results.png", title)
    write_html(rows, output / "report.html", title)
