"""bos_widget: see why so many tokens attend to the first token, on a real model.

Public API only; each name is defined in the module that owns its layer. The names whose
modules import torch (``capture``, ``CaptureError``, ``explain``, ``ExplainReport``) are
imported on first use (PEP 562), so that ``import bos_widget`` and the widget leave torch
unloaded until a model is captured.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .analysis.report import SinkReport, sink_report
from .models import demo_model
from .run import AttentionRun, RunMeta
from .views.compare import Comparison, compare, compare_ablation
from .views.compat import head_view, model_view
from .views.corpus_view import CorpusView, corpus_view
from .views.widget import AttentionWidget, show

if TYPE_CHECKING:
    from .capture.driver import CaptureError, capture
    from .explain import ExplainReport, explain

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

# public name -> the module that defines it (imports torch; loaded on first use)
_LAZY = {
    "CaptureError": "capture.driver",
    "capture": "capture.driver",
    "ExplainReport": "explain",
    "explain": "explain",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """This package's module type. Importing a submodule sets the package attribute of its name
    to the submodule (``import bos_widget.capture`` would make ``bos_widget.capture`` the
    module); for the functions named after their modules (``capture``, ``explain``) the
    function stays, as it did when they were imported eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def _unshadow() -> None:
    """The imports above ran bos_widget.capture (the package of that name, for capture/lens
    and capture/adapters), which set the attribute: it is the function, loaded on first use."""
    names = globals()
    for name in _LAZY:
        if isinstance(names.get(name), types.ModuleType):
            del names[name]


_unshadow()
sys.modules[__name__].__class__ = _Package
