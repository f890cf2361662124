"""Analysis layer: ``explain(model, tokenizer)`` tests the four popular claims on a corpus.

One call runs every diagnostic of SCIENCE.md on any Hugging Face model whose attention goes
through transformers' attention interface (decoders and encoders alike; the code names no
model family) and returns an :class:`ExplainReport`: verdicts with n and 95% bootstrap
intervals over texts, one DataFrame per diagnostic, and the per-text values.

Modules: ``probe`` (the registered attention function), ``passes`` (batches, hooks, losses),
``collect`` and ``mechanisms`` (the passes), ``stats`` (bootstrap), ``tables``
(diagnostics), ``verdicts`` (rules), ``report`` (the result and its display).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .collect import Measurements, collect
from .report import ExplainReport
from .tables import Tables
from .verdicts import CLAIMS, THRESHOLDS, verdicts

__all__ = ["CLAIMS", "THRESHOLDS", "ExplainReport", "explain"]

MIN_TEXTS = 20


def _pooling(model: Any) -> str | None:
    """``"mean"`` / ``"cls"`` from a sentence-transformers folder's pooling config, if any."""
    from ..models import DEMO_ALIASES, demo_path

    name = str(getattr(model.config, "name_or_path", "") or "")
    folder = demo_path(name) if name.lower() in DEMO_ALIASES else Path(name)
    cfg = folder / "1_Pooling" / "config.json"
    if not cfg.is_file():
        return None
    data = json.loads(cfg.read_text())
    if data.get("pooling_mode_cls_token"):
        return "cls"
    return "mean" if data.get("pooling_mode_mean_tokens") else None


def _per_text(m: Measurements, eps: float) -> pd.DataFrame:
    cols: dict[str, Any] = {"first_token": m.first_tokens}
    n = len(m.first_tokens)
    for key, v in m.per_text.items():
        if v.ndim == 1:
            cols[key] = np.concatenate([v, np.full(n - len(v), np.nan)])
    cols["sink_rate"] = (m.per_text["alpha0"] > eps).mean((1, 2))
    return pd.DataFrame(cols)


def explain(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str] | None = None,
    *,
    T: int = 64,
    eps: float = 0.3,
    n_edit: int | None = 32,
    pooling: str | None = None,
    batch_size: int = 16,
    progress: bool | None = None,
    seed: int = 0,
) -> ExplainReport:
    """Test claims C1-C4 of SCIENCE.md on ``model`` over a corpus of texts.

    Parameters
    ----------
    model, tokenizer
        Any Hugging Face model (causal LM or encoder) and its tokenizer.
    texts : list of str, optional
        At least 20 texts of at least ``T`` tokens each; default: the project's corpus
        (``bos_widget.corpus.load_corpus()``, 120 texts in 12 genres).
    T : int
        Every text is cut to exactly ``T`` tokens (sink scores have a 1/T floor).
    eps : float
        Sink threshold: a sink head has ``alpha[l,h,0] > eps``.
    n_edit : int or None
        The re-running diagnostics (D6, D8, D9, D10, D12) use the first ``n_edit`` texts
        (None: all); the rest use every text. Each table's ``n`` says which.
    pooling : {"mean", "cls"}, optional
        How the model was trained to pool (C4); read from a sentence-transformers folder
        when not given.
    progress : bool, optional
        Show a progress bar (default: yes).
    """
    if texts is None:
        from ..corpus import load_corpus

        texts = load_corpus()
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError("texts must be a list of strings (or None for the built-in corpus).")
    if len(texts) < MIN_TEXTS:
        raise ValueError(
            f"explain() needs at least {MIN_TEXTS} texts for its intervals to mean anything; "
            f"got {len(texts)}. Pass more texts, or texts=None for the built-in corpus."
        )
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must lie strictly between 0 and 1, got {eps}.")
    if not isinstance(T, int) or T < 8:
        raise ValueError(f"T must be an int of at least 8 tokens, got {T!r}.")
    from tqdm.auto import tqdm

    n_edit_eff = len(texts) if n_edit is None else min(n_edit, len(texts))
    bar = tqdm(
        total=len(texts) + 2 * n_edit_eff, desc="explain", unit="text", disable=progress is False
    )
    start = time.perf_counter()
    try:
        m = collect(model, tokenizer, texts, T, batch_size, n_edit, seed, bar.update)
    finally:
        bar.close()
    tables = Tables(m, eps)
    diagnostics = tables.all()
    pooling = pooling or (None if m.causal else _pooling(model))
    setting = {
        "model": m.model,
        "T": T,
        "eps": eps,
        "n_texts": len(texts),
        "n_edit": n_edit_eff,
        "bos_added": m.bos_added,
        "first_token": m.first_tokens[0],
        "causal": m.causal,
        "n_layers": m.n_layers,
        "n_heads": m.n_heads,
        "pooling": pooling,
        "thresholds": dict(THRESHOLDS),
        "seconds": time.perf_counter() - start,
    }
    return ExplainReport(verdicts(m, tables, eps, pooling), diagnostics, _per_text(m, eps), setting)
