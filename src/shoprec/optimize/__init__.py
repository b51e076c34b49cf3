"""Model compression: derive int8, half, pruned, distilled and ONNX models and measure them.

Owns the ``shoprec optimize`` methods (:data:`METHODS`), artifact-to-artifact optimisation and
the compression benchmark (size, parameters, latency, throughput, ranking quality per model).
The compressed models themselves are registered in ``models/sasrec`` (torch stays there); this
layer reaches them through the registry and imports no torch. Sits above ``evaluation`` (it
measures with it), beside ``jobs``; must not import ``jobs``, ``serving`` or the CLI.
"""

from .benchmark import run_compression_benchmark, summary_rows
from .derive import METHODS, derive_model, derived_name, optimize_artifact
from .measure import artifact_size_mb, latency_ms, measure_model, parameter_count, throughput

__all__ = [
    "METHODS",
    "artifact_size_mb",
    "derive_model",
    "derived_name",
    "latency_ms",
    "measure_model",
    "optimize_artifact",
    "parameter_count",
    "run_compression_benchmark",
    "summary_rows",
    "throughput",
]
