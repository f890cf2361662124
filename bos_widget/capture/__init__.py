"""Capture layer: a model, its tokenizer and a text become an :class:`~bos_widget.run.AttentionRun`.

``driver`` is :func:`bos_widget.capture` (eager switch and restore, GQA, encoder, decoder and
encoder-decoder); ``record`` keeps q and k as the model's own attention uses them,
``factors`` turns them into exact slices on demand, ``outputs_path`` and ``eager`` read
attention where no factors can be had, ``generation`` captures while a model generates,
``lens`` reads a TransformerLens run, ``hooks`` scopes every hook, ``adapters``, ``naming``
and ``tokens`` name models, layers and tokens. This file imports none of them: the
torch-side modules load when named (``capture`` and ``CaptureError`` from ``driver`` on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .driver import CaptureError, capture

__all__ = ["CaptureError", "capture"]


def __getattr__(name: str) -> Any:
    """``from bos_widget.capture import capture, CaptureError`` (the names the flat module held)
    loads the driver, and torch with it, on first use."""
    if name in __all__:
        return getattr(importlib.import_module(".driver", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
