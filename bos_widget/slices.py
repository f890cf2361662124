"""Codec layer (serving): what a view asks for -> encoded bytes, with a bounded cache.

``SliceServer`` turns a request ``(layer, head, weighting)`` into the ``[T, T]`` matrix the
front end draws (one head, or the mean of heads; raw or norm-weighted attention) and encodes
it with ``codec`` (causal runs: the lower triangle only; ``T >= QUANTISE_FROM_T``: uint8
with a stated error bound, else float16); :meth:`SliceServer.reply` adds the encoding, the
error bound and the per-token stats of that (layer, head) (hidden-state and value norms,
massive-activation flags) to the message. It also computes the layers x heads overview of
first-token sink scores. No torch, no ipywidgets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import cast

import numpy as np

from . import codec, metrics
from .run import AttentionRun

WEIGHTINGS = ("raw", "norm")
MEAN_HEAD = -1
QUANTISE_FROM_T = 1024  # from this many tokens slices travel as uint8, not float16
# Encoded slices kept in the kernel: the view's first request starts a background thread that
# encodes raw slices (means of heads first, then heads, nearest layers first) up to this
# budget, so that later switches find them ready. SmolLM2 at T = 1024: all 300 in 150 MB.
WARM_BUDGET_BYTES = 256 * 2**20


def round_sig(values: np.ndarray, digits: int = 4) -> list[float]:
    """Round each value to ``digits`` significant digits (JSON-friendly floats)."""
    return [float(f"{float(v):.{digits}g}") for v in np.asarray(values).ravel()]


class SliceServer:
    """Serves encoded attention slices of one run.

    Parameters
    ----------
    run : AttentionRun
    cache_size : int
        How many encoded slices to keep (each at most ``2 T^2`` bytes, in float16); the
        widget's server keeps up to ``WARM_BUDGET_BYTES`` of them instead.
    encoding : {"float16", "uint8"}, optional
        Default: uint8 when ``T >= QUANTISE_FROM_T``, else float16.
    """

    def __init__(
        self, run: AttentionRun, cache_size: int = 32, encoding: codec.Encoding | None = None
    ):
        self.run = run
        auto: codec.Encoding = "uint8" if run.T >= QUANTISE_FROM_T else "float16"
        self.encoding: codec.Encoding = encoding or auto
        self._cache: OrderedDict[tuple[int, int, str], tuple[bytes, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_bytes = 0
        self._byte_budget = WARM_BUDGET_BYTES
        self._lock = threading.Lock()  # the cache is shared with the warming thread
        self._warmer: threading.Thread | None = None
        self._grids: dict[str, list[list[float]]] = {}

    @property
    def weightings(self) -> list[str]:
        """Weightings this run supports: ``norm`` needs the captured value norms and, in
        summary mode, is not offered (only raw head means were kept)."""
        if self.run.summary is not None or self.run.output_norms is None:
            return ["raw"]
        return ["raw", "norm"]

    def check(self, layer: int, head: int, weighting: str) -> None:
        """Raise ``ValueError`` with a sentence a user can act on if the request is invalid."""
        L, H = self.run.n_layers, self.run.n_heads
        if not 0 <= layer < L:
            raise ValueError(f"layer must be between 0 and {L - 1}, got {layer}.")
        if not (head == MEAN_HEAD or 0 <= head < H):
            raise ValueError(f"head must be between 0 and {H - 1}, or -1 for the mean, got {head}.")
        if self.run.summary is not None and head != MEAN_HEAD:
            raise ValueError(
                f"{self.run.summary.left_out} Single heads can't be shown: keep head=-1, or "
                "capture fewer tokens (max_tokens=...) to see each head."
            )
        if weighting not in self.weightings:
            raise ValueError(
                f"weighting must be one of {self.weightings}, got {weighting!r}"
                + (" (this run has no value norms)" if weighting == "norm" else "")
                + "."
            )

    def _layer(self, layer: int, weighting: str) -> np.ndarray:
        att = self.run.require_attention()[layer]
        if weighting == "norm":
            assert self.run.output_norms is not None
            return metrics.norm_weighted(att, self.run.output_norms[layer])
        return att

    def matrix(self, layer: int, head: int, weighting: str = "raw") -> np.ndarray:
        """float32 ``[T, T]``: one head, or the mean of heads when ``head == -1``."""
        self.check(layer, head, weighting)
        if head == MEAN_HEAD and weighting == "raw" and self.run.head_mean is not None:
            return self.run.head_mean[layer].astype(np.float32)  # measured at capture
        att = self._layer(layer, weighting)
        if head == MEAN_HEAD:
            return metrics.head_mean(att)
        return np.asarray(att[head], dtype=np.float32)

    def _encoded(self, layer: int, head: int, weighting: str) -> tuple[bytes, float]:
        key = (layer, head, weighting)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        m = self.matrix(layer, head, weighting)  # outside the lock: numpy releases the GIL
        try:  # causal slices travel as their lower triangle
            blob = codec.encode(m, self.encoding, lower=self.run.meta.causal)
        except ValueError:  # weight above the diagonal after all: send every value
            blob = codec.encode(m, self.encoding)
        hit = blob, codec.error_bound(m, self.encoding)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = hit
                self._cache_bytes += len(blob)
            while len(self._cache) > 1 and (
                len(self._cache) > self._cache_size or self._cache_bytes > self._byte_budget
            ):
                _, (old, _) = self._cache.popitem(last=False)
                self._cache_bytes -= len(old)
        return hit

    def warm(self, layer: int, head: int) -> threading.Thread | None:
        """Encode raw slices in a background thread, nearest to ``(layer, head)`` first (means
        of heads before single heads), until the cache holds ``WARM_BUDGET_BYTES``. Started
        once; returns the thread (``None`` when already started)."""
        with self._lock:
            if self._warmer is not None:
                return None
            self._cache_size = max(self._cache_size, 100_000)  # bounded by bytes from now on
            L, H = self.run.n_layers, self.run.n_heads
            heads = [MEAN_HEAD] if self.run.summary is not None else [MEAN_HEAD, *range(H)]
            layers = sorted(range(L), key=lambda l: (abs(l - layer), l))
            order = [(l, MEAN_HEAD) for l in layers]
            order += [(l, h) for l in layers for h in heads if h != MEAN_HEAD]
            order.sort(key=lambda lh: lh != (layer, head))  # the one on screen first
            self._warmer = threading.Thread(
                target=self._warm_all, args=(order,), name="bos_widget-warm", daemon=True
            )
        self._warmer.start()
        return self._warmer

    def _warm_all(self, order: list[tuple[int, int]]) -> None:
        for layer, head in order:
            with self._lock:
                full = self._cache_bytes >= self._byte_budget
            if full:
                return
            self._encoded(layer, head, "raw")

    def encoded(self, layer: int, head: int, weighting: str = "raw") -> bytes:
        """The bytes of :meth:`matrix`, cached (least recently used dropped first); causal
        slices are lower-triangular packed."""
        return self._encoded(layer, head, weighting)[0]

    def sink_grid(self, weighting: str = "raw") -> list[list[float]]:
        """``[L][H]`` sink score of position 0 (D1) under ``weighting``, rounded to 1e-4."""
        if weighting not in self._grids:
            self.check(0, MEAN_HEAD, weighting)
            if self.run.summary is not None:  # first-token scores of every head were kept
                alpha0 = self.run.summary.sink_scores[..., 0]
            else:
                norms = self.run.output_norms if weighting == "norm" else None
                alpha0 = metrics.first_token_scores(self.run.require_attention(), norms)
            self._grids[weighting] = np.round(alpha0.astype(np.float64), 4).tolist()
        return self._grids[weighting]

    def stats(self, layer: int, head: int) -> codec.TokenStats | None:
        """Per-token norms of ``(layer, head)`` for the norms strip, or ``None`` when the run
        has no hidden-state norms (then the front end hides the strip).

        ``hidden_norm`` is ``hidden_norms[layer + 1]`` (the residual stream after ``layer``),
        ``value_norm`` is ``value_norms[layer, head]`` (mean over heads for ``head == -1``),
        ``massive`` the token indices :func:`metrics.massive_activations` flags after
        ``layer``.
        """
        self.check(layer, head, "raw")
        run = self.run
        if run.hidden_norms is None:
            return None
        values = None
        if run.value_norms is not None:
            v = run.value_norms[layer]
            values = round_sig(v.mean(axis=0) if head == MEAN_HEAD else v[head])
        massive: list[int] = []
        if run.hidden_max_abs is not None and run.hidden_median_abs is not None:
            flags = metrics.massive_activations(
                run.hidden_max_abs[layer + 1 : layer + 2],
                run.hidden_median_abs[layer + 1 : layer + 2],
            )[0]
            massive = [int(i) for i in np.flatnonzero(flags)]
        return {
            "hidden_norm": round_sig(run.hidden_norms[layer + 1]),
            "value_norm": values,
            "massive": massive,
        }

    def reply(self, layer: int, head: int, weighting: str) -> tuple[codec.SliceReply, list[bytes]]:
        """The message and buffers that answer a request: ``buffers[0]`` is the encoded slice.

        Raises ``ValueError`` (with a sentence for the user) when the request is invalid.
        """
        blob, bound = self._encoded(layer, head, weighting)
        content: codec.SliceReply = {
            "kind": "slice",
            "layer": layer,
            "head": head,
            "weighting": cast(codec.Weighting, weighting),
            "encoding": self.encoding,
            "error_bound": bound,
            "stats": self.stats(layer, head),
        }
        return content, [blob]
