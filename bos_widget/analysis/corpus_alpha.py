"""Analysis layer (pure numpy): the first-position sink score of every head over a corpus.

For each text, ``alpha[l, h] = alpha[l, h, 0]`` is D1 of SCIENCE.md at key 0: the mean over
queries ``q >= 0`` of ``A[l, h, q, 0]`` (query 0 included, so its floor is about ``1/T``;
compare only at the same T). :func:`measure` captures the texts one at a time, keeps only these
``[L, H]`` numbers (never the runs) and returns a :class:`CorpusAlpha` of ``[n_texts, L, H]``.
:meth:`CorpusAlpha.intervals` gives, per head, the mean over texts with its 95% percentile
bootstrap interval over texts (resampling texts with replacement, seeded), the interval every
corpus number of ``explain`` uses. Capture (and so torch) is imported only inside
:func:`measure`; the rest is numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

N_BOOT = 2000
LEVEL = 0.95
DEFAULT_TOKENS = 64  # explain's T: Gu et al. report sink rates at T = 64
INTERVAL = "95% percentile bootstrap over texts (2000 resamples)"
ALPHA_DEF = "α₀ = mean over queries q ≥ 0 of A[q, 0] (D1 at the first position)"


@dataclass(frozen=True)
class CorpusAlpha:
    """First-position sink scores of every head on every text of a corpus.

    Attributes
    ----------
    alpha : np.ndarray
        float32 ``[n_texts, L, H]``: ``alpha[i, l, h]`` is D1 of key 0 in layer l, head h on
        text i.
    texts : tuple of str
        The texts, in order (as given, before truncation).
    T : np.ndarray
        int ``[n_texts]``: tokens each text was measured at (``max_tokens`` or fewer).
    model : str
        Model name.
    bos_added : bool
        Whether the tokenizer put a BOS / [CLS] at position 0 (else position 0 is a word).
    first_tokens : tuple of str
        Token at position 0 of each text.
    """

    alpha: np.ndarray
    texts: tuple[str, ...]
    T: np.ndarray
    model: str
    bos_added: bool
    first_tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        a = np.asarray(self.alpha)
        if a.ndim != 3 or len(a) == 0:
            raise ValueError(
                f"CorpusAlpha needs alpha of shape [n_texts, L, H] with n_texts >= 1; got "
                f"shape {a.shape}."
            )
        if not len(self.texts) == len(self.T) == len(self.first_tokens) == len(a):
            raise ValueError("CorpusAlpha needs one text, one T and one first token per row.")

    @property
    def n(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def n_layers(self) -> int:
        return int(self.alpha.shape[1])

    @property
    def n_heads(self) -> int:
        return int(self.alpha.shape[2])

    def intervals(self, n_boot: int = N_BOOT, seed: int = 0) -> dict[str, np.ndarray]:
        """Mean over texts and its 95% bootstrap interval, per head.

        Returns
        -------
        dict
            ``"mean"``, ``"lo"``, ``"hi"``: float64 ``[L, H]``; with one text the interval
            is that text's value (a single text gives no spread).
        """
        return bootstrap_mean(self.alpha, n_boot=n_boot, seed=seed)

    def head(self, layer: int, head: int) -> np.ndarray:
        """α₀ of one head on every text, float32 ``[n_texts]``."""
        return np.asarray(self.alpha[:, layer, head])


def bootstrap_mean(
    values: np.ndarray, n_boot: int = N_BOOT, seed: int = 0, chunk: int = 200
) -> dict[str, np.ndarray]:
    """Percentile bootstrap of the mean over the first axis, for every trailing cell at once.

    Parameters
    ----------
    values : np.ndarray
        ``[n, ...]``, one row per text.
    n_boot, seed : int
        Resamples (texts drawn with replacement) and the generator's seed.

    Returns
    -------
    dict
        ``"mean"``, ``"lo"``, ``"hi"`` of shape ``values.shape[1:]``.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    draws = np.concatenate([x[idx[s : s + chunk]].mean(1) for s in range(0, n_boot, chunk)])
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail], axis=0)
    return {"mean": x.mean(0), "lo": lo, "hi": hi}


def resolve_texts(texts: Sequence[str] | str) -> list[str]:
    """``"explain"`` -> explain's corpus (120 texts); else a non-empty list of strings."""
    if isinstance(texts, str):
        if texts == "explain":
            from ..corpus import load_corpus

            return load_corpus()
        raise ValueError(
            f"texts must be a list of strings or 'explain' (explain's corpus); got the string "
            f"{texts[:40]!r}. Wrap a single text in a list: [text]."
        )
    out = list(texts)
    bad = [i for i, t in enumerate(out) if not isinstance(t, str) or not t.strip()]
    if not out or bad:
        raise ValueError(
            "texts must be a non-empty list of non-empty strings"
            + (f"; entries {bad[:5]} are not." if bad else ".")
        )
    return out


def measure(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str] | str,
    *,
    max_tokens: int = DEFAULT_TOKENS,
    progress: bool = True,
    model_name: str | None = None,
) -> CorpusAlpha:
    """Capture ``model`` on each text (first ``max_tokens`` tokens) and keep ``alpha[l, h, 0]``.

    Parameters
    ----------
    texts : list of str or "explain"
        The corpus; ``"explain"`` takes explain's 120 texts.
    max_tokens : int
        Tokens per text (default 64, explain's T). Texts shorter than this are measured at
        their own length, which the view reports (α's floor is about 1/T).
    progress : bool
        Show a progress bar over texts.
    """
    from ..capture.driver import capture  # imports torch; nothing else in this module does

    items = resolve_texts(texts)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="Measuring α₀ over texts", unit="text")
    rows, Ts, firsts = [], [], []
    meta = None
    try:
        for text in items:
            run = capture(
                model, tokenizer, text, max_tokens=max_tokens, model_name=model_name,
                progress=False,
            )  # fmt: skip
            rows.append(np.asarray(run.sink_scores()[:, :, 0], dtype=np.float32))
            Ts.append(run.T)
            firsts.append(run.tokens[0])
            meta = run.meta
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    assert meta is not None  # resolve_texts refuses an empty corpus
    return CorpusAlpha(
        alpha=np.stack(rows),
        texts=tuple(items),
        T=np.asarray(Ts, dtype=np.int64),
        model=meta.model,
        bos_added=bool(meta.bos_added),
        first_tokens=tuple(firsts),
    )
