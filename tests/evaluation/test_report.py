"""Report writers: JSON without NaN, markdown tables with std, the PNG plot."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from shoprec.evaluation import html_report, markdown, write_html, write_results
from shoprec.evaluation.report import importance_plot, importances

ROWS: list[dict[str, Any]] = [
    {
        "model": "ease",
        "params": {"l2": 50.0},
        "epochs": None,
        "seeds": 2,
        "HR@10": 0.07812,
        "HR@10_std": 0.00101,
        "NDCG@10": 0.04451,
        "HR@20": 0.1,
        "NDCG@20": 0.05,
        "MRR@20": float("nan"),
        "coverage@10": 0.51234,
        "train_seconds": 12.34,
        "eval_seconds": 3.21,
        "novelty@10": 9.5,
        "by_activity": {"1-5": {"cases": 10.0, "NDCG@10": 0.03}},
    },
    {
        "model": "sasrec",
        "params": {},
        "epochs": 17,
        "seeds": 2,
        "HR@10": 0.09,
        "NDCG@10": 0.05,
        "by_activity": {
            "1-5": {"cases": 10.0, "NDCG@10": 0.04},
            "6-10": {"cases": 4.0, "NDCG@10": 0.06},
        },
    },
]


def test_markdown_tables() -> None:
    md = markdown(ROWS, "beauty: protocol loo")
    lines = md.splitlines()
    assert lines[0] == "# beauty: protocol loo"
    assert "Mean ± standard deviation over 2 seeds." in lines
    assert (
        "| ease | 0.0781 ± 0.0010 | 0.0445 | 0.1000 | 0.0500 | – | 0.512 | 12.3 | 3.2 | l2=50.0 |"
        in lines
    )
    assert "| sasrec | 0.0900 | 0.0500 | – | – | – | – | – | – | epochs=17 |" in lines
    assert "| model | novelty@10 |" in lines
    assert "| model | 1-5 (10) | 6-10 (4) |" in lines
    assert "| ease | 0.0300 | – |" in lines


def test_write_results_writes_strict_json_markdown_and_png(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "out"
    write_results(ROWS, out, "t")
    text = (out / "results.json").read_text()
    assert "NaN" not in text
    saved = json.loads(text)
    assert saved[0]["MRR@20"] is None
    assert saved[1]["epochs"] == 17
    assert (out / "results.md").read_text() == markdown(ROWS, "t")
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_html_report_is_self_contained_with_three_plots(tmp_path: Path) -> None:
    rows = [
        {**ROWS[0], "pop_percentile@10": 0.9},
        {**ROWS[1], "coverage@10": 0.2, "pop_percentile@10": 0.6},
        {"model": "als", "skipped": "too big; try a smaller catalogue"},
    ]
    path = tmp_path / "deep" / "report.html"
    write_html(rows, path, "beauty <loo>")
    page = path.read_text()
    assert page.startswith("<!doctype html>") and "<h1>beauty &lt;loo&gt;</h1>" in page
    # Nothing to fetch: no scripts, no links, every image inline.
    assert "<script" not in page and "http" not in page
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    for figure in ("metric-bars", "by-activity", "coverage-bias"):
        assert f"<figure id='{figure}'>" in page
    # The tables: the summary (skipped model with its reason) and NDCG by activity.
    assert "<td>0.0781 ± 0.0010</td>" in page
    assert "not run: too big" in page
    assert "<th>6-10 (4)</th>" in page and "<td>0.0600</td>" in page


def test_html_report_leaves_out_plots_without_their_metrics() -> None:
    row = {k: v for k, v in ROWS[1].items() if k != "by_activity"}
    page = html_report([row], "t")
    assert page.count("<figure") == 1 and "id='metric-bars'" in page


def test_write_results_also_writes_the_html_report(tmp_path: Path) -> None:
    write_results(ROWS, tmp_path, "t")
    assert (tmp_path / "report.html").read_text() == html_report(ROWS, "t")


def test_feature_importance_table_plot_and_file(tmp_path: Path) -> None:
    shares = {f"f{i:02d}": (25 - i) / 325 for i in range(25)}  # f00 the most important
    rows = [
        {**ROWS[0], "feature_importance": shares, "candidate_recall": 0.61, "seeds": 1},
        {**ROWS[1], "feature_importance": {"same_brand": 0.7, "pop_all": 0.3}},
        {"model": "als", "skipped": "too big"},
    ]
    assert importances(rows) == {"ease": shares, "sasrec": {"same_brand": 0.7, "pop_all": 0.3}}
    md = markdown(rows, "t").splitlines()
    assert "| rank | ease | sasrec |" in md
    assert "| 1 | f00 (0.077) | same_brand (0.700) |" in md
    assert "| 3 | f02 (0.071) | – |" in md
    assert "| 10 | f09 (0.049) | – |" in md and not any(line.startswith("| 11 |") for line in md)
    assert "Candidate recall (share of targets among the candidates): ease 0.610." in md
    bars = importance_plot("ease", shares).axes[0]
    assert len(bars.patches) == 20
    assert [t.get_text() for t in bars.get_yticklabels()][-1] == "f00"  # the largest on top
    write_results(rows, tmp_path, "t")
    assert json.loads((tmp_path / "feature_importance.json").read_text()) == importances(rows)
    page = (tmp_path / "report.html").read_text()
    assert "<figure id='importance-ease'>" in page and "<figure id='importance-sasrec'>" in page
    assert "<td>f00 (0.077)</td>" in page


def test_no_importance_file_or_section_without_a_ranker(tmp_path: Path) -> None:
    write_results(ROWS, tmp_path, "t")
    assert not (tmp_path / "feature_importance.json").exists()
    assert "importance" not in (tmp_path / "report.html").read_text().lower()
    assert "importance" not in markdown(ROWS, "t").lower()


def test_html_report_plots_the_learning_curve_of_an_iterative_model(tmp_path: Path) -> None:
    """Issue #20: the evaluated model's training loss and validation NDCG@10 per epoch."""
    curve = [
        {"epoch": 1.0, "loss": 5.0, "seconds": 1.0, "lr": 1e-3, "ndcg@10": 0.01},
        {"epoch": 2.0, "loss": 4.0, "seconds": 1.0, "lr": 1e-3, "ndcg@10": 0.03},
        {"epoch": 3.0, "loss": 3.5, "seconds": 1.0, "lr": 1e-3, "ndcg@10": 0.02},
    ]
    rows = [ROWS[0], {**ROWS[1], "epochs": 2, "learning_curve": curve}]
    page = html_report(rows, "t")
    assert "<figure id='learning-curve-sasrec'>" in page
    assert "id='learning-curve-ease'" not in page  # no curve: not iterative
    write_results(rows, tmp_path, "t")  # the curve survives strict JSON
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved[1]["learning_curve"][1]["ndcg@10"] == 0.03
