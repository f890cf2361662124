"""bos_widget: see why so many tokens attend to the first token, on a real model.

Public API only; each name is defined in the module that owns its layer.
"""

from ._version import __version__
from .capture import CaptureError, capture
from .models import demo_model
from .report import SinkReport, sink_report
from .run import AttentionRun, RunMeta


__all__ = [
    "AttentionRun",
    "CaptureError",
    "RunMeta",
    "SinkReport",
    "__version__",
    "capture",
    "demo_model",
    "sink_report",
]
