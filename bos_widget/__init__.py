"""bos_widget: see why so many tokens attend to the first token, on a real model.

Public API only; each name is defined in the module that owns its layer.
"""

from ._version import __version__
from .capture import CaptureError, capture
from .compare import Comparison, compare, compare_ablation
from .compat import head_view, model_view
from .corpus_view import CorpusView, corpus_view
from .explain import ExplainReport, explain
from .models import demo_model
from .report import SinkReport, sink_report
from .run import AttentionRun, RunMeta
from .widget import AttentionWidget, show

__all__ = [
    "AttentionRun",
    "AttentionWidget",
    "CaptureError",
    "Comparison",
    "CorpusView",
    "ExplainReport",
    "RunMeta",
    "SinkReport",
    "__version__",
    "capture",
    "compare",
    "compare_ablation",
    "corpus_view",
    "demo_model",
    "explain",
    "head_view",
    "model_view",
    "show",
    "sink_report",
]
