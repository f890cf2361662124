"""Codec layer (serving): what a view asks for -> encoded bytes, with a bounded cache.

``SliceServer`` turns a request ``(layer, head, weighting)`` into the matrix the front end
draws (one head, or the mean of heads; raw or norm-weighted attention), read through
``run.slice`` (stored maps, or q/k factors recomputed exactly), and encodes it with ``codec``
(causal square slices: the lower triangle only; ``T >= QUANTISE_FROM_T``: uint8 with a
stated error bound, else float16); :meth:`SliceServer.reply` adds the encoding, the error
bound and the per-token stats of that (layer, head) (hidden-state and value norms,
massive-activation flags) to the message.

Up to ``POOL_ABOVE_T`` tokens a reply is the whole ``[T, T]`` slice. Above it (and whenever a
request names a region or ``bins``) a reply covers the half-open ranges ``queries`` x
``keys``, each axis longer than ``bins`` max-pooled into ``bins`` blocks
(``metrics.bin_edges``): ``[n_q, n_k]`` values, exact once the region is no longer than
``bins``; it also carries the D1 sink score of every key (``buffers[1]``), which the front end
can no longer compute from a pooled slice. It also computes the layers x heads overview of
first-token sink scores. No torch, no ipywidgets.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import cast

import numpy as np

from ..analysis import metrics
from ..run import AttentionRun
from . import codec
from .checks import MEAN_HEAD, check_request, weightings
from .checks import WEIGHTINGS as WEIGHTINGS  # re-exported where it always was

POOLS = ("max", "mean")
QUANTISE_FROM_T = 1024  # from this many tokens slices travel as uint8, not float16
# Above this many tokens the view asks for slices pooled to its pixels. At T = 2048 a whole
# causal slice is 2.1 MB of uint8 on the wire and 16 MB of float32 in the browser (its LRU
# holds 64); at T = 4096 it would be 8.4 MB and 64 MB, at 8192 34 MB and 268 MB, while the
# matrix shows at most ~1240 device pixels a side: pooling loses nothing that can be drawn.
POOL_ABOVE_T = 2048
# Blocks a side of a pooled reply when the view does not say (and what warm-up encodes): the
# view asks for the power of two at or above its pixels (620 CSS px; 1240 at 2x), capped here.
POOL_BINS = 1024
# Most values one reply may hold (a request above it is refused with a sentence): 16 MB of
# float32 on either side, e.g. a 2048 x 2048 block.
MAX_CELLS = 2048 * 2048
# Encoded slices kept in the kernel: the view's first request starts a background thread that
# encodes raw slices (means of heads first, then heads, nearest layers first) up to this
# budget, so that later switches find them ready. SmolLM2 at T = 1024: all 300 in 150 MB.
# Pooled runs warm the whole region at POOL_BINS: 0.5 MB each in uint8.
WARM_BUDGET_BYTES = 256 * 2**20
# The warming thread waits while the view is asking: it starts a slice only once no request
# has come for this long, so that it never competes with a slice the user is waiting for.
WARM_YIELD_S = 0.3
# Bytes of float32 rows read at once when a sink score is summed from exact rows (norm
# weighting, pooled runs): 1024 rows at T = 8192
_ROWS_BYTES = 32 * 2**20

# (layer, head, weighting, q0, q1, k0, k1, bins or None, pool); bins None: every position
Key = tuple[int, int, str, int, int, int, int, "int | None", str]


def round_sig(values: np.ndarray, digits: int = 4) -> list[float]:
    """Round each value to ``digits`` significant digits (JSON-friendly floats)."""
    return [float(f"{float(v):.{digits}g}") for v in np.asarray(values).ravel()]


def _span(value: object, n: int, name: str) -> tuple[int, int]:
    """A half-open range ``[a, b)`` inside ``[0, n)`` from ``None`` (all) or two integers."""
    if value is None:
        return 0, n
    ok = isinstance(value, (list, tuple)) and len(value) == 2
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in value)  # type: ignore[union-attr]
    a, b = cast(tuple[int, int], value) if ok else (0, 0)
    if not ok or not 0 <= a < b <= n:
        raise ValueError(
            f"{name} must be a range [start, stop) of integers with 0 <= start < stop <= {n}, "
            f"got {value!r}."
        )
    return a, b


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
        self._cache: OrderedDict[Key, tuple[bytes, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_bytes = 0
        self._byte_budget = WARM_BUDGET_BYTES
        self._lock = threading.Lock()  # the cache is shared with the warming thread
        self._warmer: threading.Thread | None = None
        self._last_request = 0.0  # time.monotonic() of the latest reply (warming yields to it)
        self._grids: dict[str, list[list[float]]] = {}
        self._alphas: dict[tuple[int, int, str], bytes] = {}
        self._scores: np.ndarray | None = None  # run.sink_scores(), read once

    def _sink_scores(self) -> np.ndarray:
        """``run.sink_scores()`` ``[L, H, T]``, computed once (maps runs sum every map)."""
        if self._scores is None:
            self._scores = self.run.sink_scores()
        return self._scores

    @property
    def pooled(self) -> bool:
        """True when whole ``[T, T]`` slices are not sent: ``T > POOL_ABOVE_T`` (either axis
        of a cross-attention run's ``[T_q, T]``)."""
        return max(self.run.T, self.run.T_q) > POOL_ABOVE_T

    @property
    def weightings(self) -> list[str]:
        """Weightings this run supports (:func:`bos_widget.transport.checks.weightings`)."""
        return weightings(self.run)

    def check(self, layer: int, head: int, weighting: str) -> None:
        """Raise ``ValueError`` with a sentence a user can act on if the request is invalid
        (:func:`bos_widget.transport.checks.check_request`, the rule the widget's traits use
        too)."""
        check_request(self.run, layer, head, weighting)

    def matrix(self, layer: int, head: int, weighting: str = "raw") -> np.ndarray:
        """float32 ``[T, T]``: one head, or the mean of heads when ``head == -1``."""
        self.check(layer, head, weighting)
        return self.run.slice(layer, head, weighting=weighting)

    def key(
        self,
        layer: int,
        head: int,
        weighting: str = "raw",
        queries: object = None,
        keys: object = None,
        bins: object = None,
        pool: object = "max",
    ) -> Key:
        """The checked cache key of a request (see :meth:`reply`); raises ``ValueError`` with
        a sentence when the request is invalid."""
        self.check(layer, head, weighting)
        q0, q1 = _span(queries, self.run.T_q, "queries")
        k0, k1 = _span(keys, self.run.T, "keys")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {list(POOLS)}, got {pool!r}.")
        if bins is None and self.pooled:
            bins = POOL_BINS
        if bins is not None and (isinstance(bins, bool) or not isinstance(bins, int) or bins < 1):
            raise ValueError(f"bins must be a positive integer (blocks a side), got {bins!r}.")
        span = max(q1 - q0, k1 - k0)
        n = None if bins is None or bins >= span else bins  # None: every position
        n_q, n_k = min(n or span, q1 - q0), min(n or span, k1 - k0)
        if n_q * n_k > MAX_CELLS:
            raise ValueError(
                f"That slice would hold {n_q} x {n_k} values, more than the {MAX_CELLS} one "
                f"reply may carry; ask for bins <= {int(MAX_CELLS**0.5)} or a smaller region."
            )
        return (layer, head, weighting, q0, q1, k0, k1, n, cast(str, pool))

    def _encoded(self, key: Key) -> tuple[bytes, float]:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        layer, head, weighting, q0, q1, k0, k1, bins, pool = key
        m = self.run.slice(  # outside the lock: numpy releases the GIL
            layer, head, queries=(q0, q1), keys=(k0, k1), weighting=weighting, bins=bins, pool=pool
        )
        # causal slices over one range of queries and keys (same edges) travel as their lower
        # triangle
        lower = self.run.meta.causal and (q0, q1) == (k0, k1)
        try:
            blob = codec.encode(m, self.encoding, lower=lower)
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
        of heads before single heads), until the cache holds ``WARM_BUDGET_BYTES``; above
        ``POOL_ABOVE_T`` the whole region pooled to ``POOL_BINS`` (what the view asks for
        first), never a whole ``[T, T]`` slice. It starts a slice only once no request has
        come for ``WARM_YIELD_S``: a slice the user waits for never shares the CPU with one
        encoded on speculation. Started once; returns the thread (``None`` when already
        started)."""
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
            while (quiet := time.monotonic() - self._last_request) < WARM_YIELD_S:
                time.sleep(WARM_YIELD_S - quiet)
            with self._lock:
                full = self._cache_bytes >= self._byte_budget
            if full:
                return
            self._encoded(self.key(layer, head, "raw"))

    def encoded(self, layer: int, head: int, weighting: str = "raw") -> bytes:
        """The bytes of the whole ``[T, T]`` slice of :meth:`matrix` at any T, cached (least
        recently used dropped first); causal slices are lower-triangular packed."""
        self.check(layer, head, weighting)
        T, T_q = self.run.T, self.run.T_q
        return self._encoded((layer, head, weighting, 0, T_q, 0, T, None, "max"))[0]

    def sink_grid(self, weighting: str = "raw") -> list[list[float]]:
        """``[L][H]`` sink score of position 0 (D1) under ``weighting``, rounded to 1e-4."""
        if weighting not in self._grids:
            self.check(0, MEAN_HEAD, weighting)
            run = self.run
            if weighting == "raw" and (run.measured or run.summary) is not None:
                alpha0 = self._sink_scores()[..., 0]  # measured at capture
            elif weighting == "raw":  # maps: one column each, not run.sink_scores()'s sums
                alpha0 = metrics.first_token_scores(run.require_attention())
            elif run.measured is not None and run.measured.norm_first is not None:
                alpha0 = run.measured.norm_first
            else:
                alpha0 = metrics.first_token_scores(run.require_attention(), run.output_norms)
            self._grids[weighting] = np.round(alpha0.astype(np.float64), 4).tolist()
        return self._grids[weighting]

    def sink_scores(self, layer: int, head: int, weighting: str = "raw") -> np.ndarray:
        """float32 ``[T_k]``: D1 sink score of every key of ``(layer, head)`` (``-1``: of the
        mean of heads, the mean of the heads' scores) under ``weighting``.

        Raw scores come from ``run.sink_scores()``; norm-weighted ones are summed from exact
        rows, ``_ROWS_BYTES`` of them at a time (never a whole ``[T, T]`` slice at once).
        """
        self.check(layer, head, weighting)
        run = self.run
        if weighting == "raw":
            alpha = self._sink_scores()[layer]
            return np.asarray(alpha.mean(axis=0) if head == MEAN_HEAD else alpha[head], np.float32)
        T, T_q = run.T, run.T_q
        sums = np.zeros(T, np.float64)
        step = max(64, _ROWS_BYTES // (4 * T))
        for q0 in range(0, T_q, step):
            q1 = min(T_q, q0 + step)
            sums += run.slice(layer, head, queries=(q0, q1), weighting=weighting).sum(axis=0)
        return (sums / metrics.query_counts(T_q, T, run.meta.causal)).astype(np.float32)

    def _alpha_blob(self, layer: int, head: int, weighting: str) -> bytes:
        key = (layer, head, weighting)
        with self._lock:
            blob = self._alphas.get(key)
        if blob is None:
            blob = codec.encode(self.sink_scores(layer, head, weighting), "float16")
            with self._lock:
                self._alphas[key] = blob
        return blob

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

    def reply(
        self,
        layer: int,
        head: int,
        weighting: str = "raw",
        *,
        queries: object = None,
        keys: object = None,
        bins: object = None,
        pool: object = "max",
    ) -> tuple[codec.SliceReply, list[bytes]]:
        """The message and buffers that answer a request: ``buffers[0]`` is the encoded slice.

        Parameters
        ----------
        layer, head : int
        weighting : {"raw", "norm"}
        queries, keys : [start, stop], optional
            Half-open ranges of the region (default: every position).
        bins : int, optional
            Pool each axis longer than ``bins`` into ``bins`` blocks (``metrics.bin_edges``);
            default ``POOL_BINS`` above ``POOL_ABOVE_T`` tokens, else every position.
        pool : {"max", "mean"}

        Returns
        -------
        (SliceReply, list of bytes)
            Whole-slice replies (no region, no bins, ``T <= POOL_ABOVE_T``) are the ``[T, T]``
            slice as before. Region replies also state ``queries``, ``keys``, ``bins`` (the
            blocks a side, ``None`` when exact) and ``pool``; their slice is ``[n_q, n_k]``
            with edges ``metrics.bin_edges(q0, q1, bins or q1 - q0)`` (likewise keys), and
            ``buffers[1]`` holds float16 ``[T]``: the D1 sink score of every key. Runs with
            learned sinks add the sink slot's column (``codec.SliceReply``).

        Raises ``ValueError`` (with a sentence for the user) when the request is invalid.
        """
        self._last_request = time.monotonic()
        key = self.key(layer, head, weighting, queries, keys, bins, pool)
        blob, bound = self._encoded(key)
        content: codec.SliceReply = {
            "kind": "slice",
            "layer": layer,
            "head": head,
            "weighting": cast(codec.Weighting, weighting),
            "encoding": self.encoding,
            "error_bound": bound,
            "stats": self.stats(layer, head),
        }
        buffers = [blob]
        if self.pooled or queries is not None or keys is not None or bins is not None:
            _, _, _, q0, q1, k0, k1, n, how = key
            content["queries"] = [q0, q1]
            content["keys"] = [k0, k1]
            content["bins"] = n
            content["pool"] = cast(codec.Pool, how)
            buffers.append(self._alpha_blob(layer, head, weighting))
        self._add_slot(content, buffers, key)
        self._last_request = time.monotonic()
        return content, buffers

    def _add_slot(self, content: codec.SliceReply, buffers: list[bytes], key: Key) -> None:
        """Runs with learned sink logits: the sink slot's column for the rows served, as one
        more buffer (``content["sink_slot"]`` is its index), and its score ``slot_alpha``."""
        layer, head, weighting, q0, q1, _, _, n, how = key
        slot = self.run.slot(layer, head, queries=(q0, q1), weighting=weighting, bins=n, pool=how)
        scores = self.run.slot_scores()
        if slot is None or scores is None:
            return
        alpha = scores[layer].mean() if head == MEAN_HEAD else scores[layer, head]
        content["sink_slot"] = len(buffers)
        content["slot_alpha"] = round(float(alpha), 4) if weighting == "raw" else 0.0
        buffers.append(codec.encode(slot, "float16"))
