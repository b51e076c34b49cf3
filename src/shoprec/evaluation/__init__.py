"""Evaluation: metrics, vectorised full-catalogue ranking, the benchmark runner and its reports.

Owns measuring models offline. May import every layer below it (``data``, ``features``,
``models``); nothing below may import it, and it must not import ``serving`` or the CLI.
"""

from .benchmark import (
    FinalFitCallback,
    ProgressCallback,
    Trial,
    best_trial,
    grid,
    run_benchmark,
    tune,
)
from .metrics import (
    ACTIVITY_EDGES,
    activity_buckets,
    average_popularity,
    category_codes,
    category_diversity,
    coverage,
    embedding_diversity,
    hit_rate,
    item_counts,
    mrr,
    ndcg,
    novelty,
    popularity_bias,
    popularity_percentiles,
    popularity_shares,
)
from .ranking import (
    BatchScorer,
    EvaluationReport,
    RankedCases,
    evaluate,
    evaluate_report,
    rank_cases,
)
from .report import html_report, markdown, summary, write_html, write_results

__all__ = [
    "ACTIVITY_EDGES",
    "BatchScorer",
    "EvaluationReport",
    "FinalFitCallback",
    "ProgressCallback",
    "RankedCases",
    "Trial",
    "activity_buckets",
    "average_popularity",
    "best_trial",
    "category_codes",
    "category_diversity",
    "coverage",
    "embedding_diversity",
    "evaluate",
    "evaluate_report",
    "grid",
    "hit_rate",
    "html_report",
    "item_counts",
    "markdown",
    "mrr",
    "ndcg",
    "novelty",
    "popularity_bias",
    "popularity_percentiles",
    "popularity_shares",
    "rank_cases",
    "run_benchmark",
    "summary",
    "tune",
    "write_html",
    "write_results",
]
