"""Widget layer (export): the current view of a widget as a static figure, SVG or PNG.

:func:`spec_of` reads what a widget shows from ``(run, state)`` (the run and the widget's
synced traits, :func:`bos_widget.export.page.widget_state`; never the widget class) into a
:class:`FigureSpec`; :func:`svg` writes it as SVG text with nothing but the standard library
(the heatmap is an embedded PNG written here); :func:`png` draws it with matplotlib
(``pip install "bos_widget[image]"``). Both titles say what the figure is: model, T,
layer/head, raw or norm-weighted, eps. Colours follow the front end's light theme. Token text
is escaped XML character data in SVG and plain text in matplotlib, never markup.
"""

from __future__ import annotations

import base64
import decimal
import pathlib
import re
import struct
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ..analysis import metrics
from ..capture.tokens import readable
from ..run import AttentionRun
from ..transport.slices import MEAN_HEAD, POOL_BINS, SliceServer

BG, FG, MUTED = (255, 255, 255), (31, 35, 40), (89, 99, 110)
ACCENT, SINK, BORDER = (31, 111, 235), (232, 89, 12), (208, 215, 222)
GAMMA = 0.5  # heatmap power scale, as js/src/draw/matrix.ts
TOP_P, MAX_ARCS = 0.9, 16  # arc pruning, as js/src/slices.ts
LABELS_UP_TO = 64  # matrix axes name every token up to this T
_NOT_XML = re.compile(  # XML 1.0's forbidden characters; bidi and zero-width ones (hidden)
    "[\x00-\x08\x0b\x0c\x0e-\x1f\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\ud800-\udfff\ufeff\ufffe\uffff]"
)


@dataclass(frozen=True)
class FigureSpec:
    """One static figure: the ``[T, T]`` matrix drawn, its token labels and sink keys."""

    title: str
    subtitle: str
    view: str  # "arcs" or "matrix"
    matrix: np.ndarray  # float32 [T, T], rows = queries
    labels: list[str]
    sinks: np.ndarray  # bool [T]
    causal: bool
    query_labels: list[str] | None = None  # cross-attention: matrix is [T_q, T] (crossfig)


def _mix(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[float, ...]:
    return tuple(x + (y - x) * t for x, y in zip(a, b, strict=True))


def colours(values: np.ndarray) -> np.ndarray:
    """uint8 ``[..., 3]``: the front end's heatmap ramp (background -> accent -> text) at
    ``v ** GAMMA``."""
    stops = np.array([BG, _mix(BG, ACCENT, 0.35), ACCENT, _mix(ACCENT, FG, 0.55)], np.float64)
    x = np.clip(np.nan_to_num(values, nan=0.0), 0, 1) ** GAMMA * (len(stops) - 1)
    i = np.minimum(np.floor(x).astype(int), len(stops) - 2)
    t = (x - i)[..., None]
    return np.round(stops[i] + (stops[i + 1] - stops[i]) * t).astype(np.uint8)


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 forbids, bidi controls and zero-width characters as ``⟨U+XXXX⟩``."""
    return _NOT_XML.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def label(token: str, width: int = 14) -> str:
    """A token as the figure shows it: visible whitespace, XML-safe, at most ``width`` chars."""
    text = _xml_safe(readable(token))
    return text if len(text) <= width else text[: width - 1] + "…"


def _hide(matrix: np.ndarray, sinks: np.ndarray) -> np.ndarray:
    """Sink columns removed and rows renormalised, a row left with mass <= 1e-9 all zeros (as
    js/src/sinks.ts hideSinks; shared cases: tests/fixtures/twins.json)."""
    out = np.where(sinks[None, :], 0.0, matrix).astype(np.float32)
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 1e-9)


def _segment(matrix: np.ndarray, segment: str, b: int | None) -> np.ndarray | None:
    """Only the cells of a sentence-pair filter such as ``"A→B"`` (queries in A, keys in B;
    A = ``[0, b)``, B = ``[b, T)``), others zero, rows not renormalised (as
    js/src/segments.ts); ``None`` when the filter keeps everything."""
    T = matrix.shape[0]
    m = re.fullmatch("([AB])→([AB])", segment or "")
    if m is None or b is None or not 0 < b < T:
        return None
    span = {"A": slice(0, b), "B": slice(b, T)}
    out = np.zeros_like(matrix)
    rows, cols = span[m.group(1)], span[m.group(2)]
    out[rows, cols] = matrix[rows, cols]
    return out


def sink_keys(alpha: np.ndarray, eps: float, causal: bool) -> np.ndarray:
    """bool ``[T]``: the sink keys of one head, ``alpha > eps`` (strictly, as
    ``metrics.sink_rate``) among the keys enough queries see (as js/src/sinks.ts sinkMask)."""
    a = np.asarray(alpha)
    return (a > eps) & metrics.supported_keys(a.shape[-1], causal)


def alpha_text(alpha: float, k: int, T: int, causal: bool, t_q: int | None = None) -> str:
    """A sink score with the queries it averages over, ``"α = 0.62 over 57 queries"``
    (``|Q(k)| = T - k`` causal, else ``T``, or the ``t_q`` queries of cross-attention; rounded
    half up as JS ``toFixed``: js/src/sinks.ts alphaText)."""
    n = int(metrics.query_counts(t_q or T, T, causal)[k])
    shown = decimal.Decimal(float(alpha)).quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_UP)
    return f"α = {shown} over {n} {'query' if n == 1 else 'queries'}"


def spec_of(run: AttentionRun, state: Mapping[str, Any]) -> FigureSpec:
    """What a widget showing ``run`` draws now, as a :class:`FigureSpec`: ``state`` is its
    synced traits (:func:`bos_widget.export.page.widget_state`), of which ``layer``, ``head``,
    ``weighting``, ``threshold``, ``view``, ``hide_sinks`` and ``segment`` (default
    ``"all"``) are read."""
    layer, head, weighting = state["layer"], state["head"], state["weighting"]
    eps, view, hide = state["threshold"], state["view"], bool(state["hide_sinks"])
    server = SliceServer(run, cache_size=1)
    causal = run.meta.causal
    pooled = ""
    if server.pooled:  # no whole [T, T] slice: the image is max-pooled, as in the view
        matrix = run.slice(layer, head, weighting=weighting, bins=POOL_BINS, pool="max")
        alpha = server.sink_scores(layer, head, weighting)
        block = -(-run.T // POOL_BINS)
        pooled = f", max-pooled blocks of {block} x {block} tokens"
    else:
        matrix = server.matrix(layer, head, weighting)
        alpha = metrics.sink_scores(matrix, causal)
    sinks = sink_keys(alpha, eps, causal)
    shown = _hide(matrix, sinks) if hide else matrix
    segment = str(state.get("segment", "all"))
    only = _segment(shown, segment, run.meta.segment_b_start)
    shown = shown if only is None else only
    heads = f"mean of {run.n_heads} heads" if head == MEAN_HEAD else f"head {head}"
    bos = "BOS added" if run.meta.bos_added else "no BOS added"
    title = (
        f"{run.meta.model} · T={run.T} · layer {layer}/{run.n_layers - 1} · {heads} · "
        f"{'norm-weighted' if weighting == 'norm' else 'raw'} · ε={eps:.2f} · {bos}"
    )
    what = (
        f"Attention arcs (query → key), top-p {TOP_P}"
        if view == "arcs"
        else "Attention matrix A[q, k]"
    )
    what += pooled
    if hide:
        what += ", sinks hidden, rows renormalised"
    if only is not None:
        what += f", only {segment} (query sentence → key sentence)"
    order = [int(k) for k in np.argsort(-alpha, kind="stable") if sinks[k]]
    named = [
        f"{label(run.tokens[k], 12)} ({alpha_text(alpha[k], k, run.T, causal, run.T_q)})"
        for k in order
    ]
    found = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    subtitle = f"{what} · sink keys α > ε: {found or 'none'}"
    slot = run.slot_scores()  # learned sink logits: the static figure names the slot
    if slot is not None:
        a = float(slot[layer].mean() if head == MEAN_HEAD else slot[layer, head])
        a = 0.0 if weighting == "norm" else a
        gone = "hidden with the sinks" if hide else "rows sum to 1 − p_sink"
        subtitle += (
            f" · sink slot (learned sink logit, not a token, not drawn): α = {a:.2f}, {gone}"
        )
    labels = [label(t) for t in run.tokens]
    if run.query_tokens is None:
        return FigureSpec(title, subtitle, view, shown, labels, sinks, causal)
    queries = [label(t) for t in run.query_tokens]
    title = title.replace(f"T={run.T}", f"cross-attention {run.T_q} x {run.T}")
    return FigureSpec(title, subtitle, view, shown, labels, sinks, causal, queries)


def arcs(matrix: np.ndarray) -> list[tuple[int, int, float]]:
    """``(query, key, weight)`` kept per row: largest first until ``TOP_P`` of the mass, at
    most ``MAX_ARCS`` (as js/src/prune.ts)."""
    out = []
    for q, row in enumerate(np.asarray(matrix)):
        order = np.argsort(-row, kind="stable")[:MAX_ARCS]
        mass = 0.0
        for k in order:
            if not row[k] > 0 or mass >= TOP_P:
                break
            mass += float(row[k])
            out.append((q, int(k), float(row[k])))
    return out


def png_bytes(rgb: np.ndarray) -> bytes:
    """A PNG file of an RGB image ``uint8 [H, W, 3]`` (zlib and struct only)."""
    h, w, _ = rgb.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    body = zlib.compress(rows.tobytes(), 6)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def _css(c: tuple[int, ...]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def _layout(spec: FigureSpec) -> dict[str, float]:
    T = len(spec.labels)
    if spec.view == "arcs":
        step = max(8.0, min(90.0, 700.0 / max(T, 1)))
        left, top, arc_h = 30.0, 70.0, 220.0
        width = max(760.0, left * 2 + step * T)
        return {
            "step": step,
            "left": left,
            "base": top + arc_h,
            "width": width,
            "arc_h": arc_h,
            "height": top + arc_h + 110,
        }
    margin = 110.0 if T <= LABELS_UP_TO else 40.0
    size = 600.0
    return {
        "left": margin,
        "top": 70.0,
        "size": size,
        "width": margin + size + 30,
        "height": 70 + size + margin,
    }


def svg(spec: FigureSpec) -> str:
    """The figure as an SVG document (a string)."""
    g = _layout(spec)
    T = len(spec.labels)
    w, h = g["width"], g["height"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="system-ui, sans-serif">',
        f"<title>{escape(_xml_safe(spec.title))}</title>",
        f'<rect width="100%" height="100%" fill="{_css(BG)}"/>',
        f'<text x="8" y="22" font-size="14" font-weight="600" fill="{_css(FG)}">'
        f"{escape(_xml_safe(spec.title))}</text>",
        f'<text x="8" y="42" font-size="12" fill="{_css(MUTED)}">'
        f"{escape(_xml_safe(spec.subtitle))}</text>",
    ]
    if spec.view == "arcs":
        step, left, base, arc_h = g["step"], g["left"], g["base"], g["arc_h"]

        def x(i: int) -> float:
            return left + (i + 0.5) * step

        for q, k, wt in arcs(spec.matrix):
            c = _css(SINK if spec.sinks[k] else ACCENT)
            lift = min(arc_h, abs(x(q) - x(k)) * 0.6)
            out.append(
                f'<path d="M{x(q):.1f},{base} C{x(q):.1f},{base - lift:.1f} {x(k):.1f},'
                f'{base - lift:.1f} {x(k):.1f},{base}" fill="none" stroke="{c}" '
                f'stroke-width="{0.6 + 3 * wt:.2f}" stroke-opacity="{0.15 + 0.85 * wt:.2f}"/>'
            )
        out.append(
            f'<line x1="{left}" y1="{base}" x2="{left + step * T}" y2="{base}" '
            f'stroke="{_css(BORDER)}"/>'
        )
        for i, text in enumerate(spec.labels):
            c = _css(SINK if spec.sinks[i] else FG)
            weight = ' font-weight="600"' if spec.sinks[i] else ""
            out.append(
                f'<text x="{x(i):.1f}" y="{base + 12}" font-size="11" fill="{c}"{weight} '
                f'transform="rotate(60 {x(i):.1f} {base + 12})">{escape(text)}</text>'
            )
    else:
        left, top, size = g["left"], g["top"], g["size"]
        img = base64.b64encode(png_bytes(colours(spec.matrix))).decode("ascii")
        out.append(
            f'<image x="{left}" y="{top}" width="{size}" height="{size}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{img}"/>'
        )
        out.append(
            f'<rect x="{left - 1}" y="{top - 1}" width="{size + 2}" height="{size + 2}" '
            f'fill="none" stroke="{_css(BORDER)}"/>'
        )
        cell = size / max(T, 1)
        for k in np.flatnonzero(spec.sinks):
            out.append(
                f'<rect x="{left + k * cell:.2f}" y="{top - 6}" width="{max(cell, 2):.2f}" '
                f'height="4" fill="{_css(SINK)}"/>'
            )
        if T <= LABELS_UP_TO:
            for i, text in enumerate(spec.labels):
                c = _css(SINK if spec.sinks[i] else FG)
                y = top + (i + 0.5) * cell
                out.append(
                    f'<text x="{left - 4}" y="{y:.1f}" font-size="10" text-anchor="end" '
                    f'dominant-baseline="middle" fill="{_css(FG)}">{escape(text)}</text>'
                )
                xk = left + (i + 0.5) * cell
                yk = top + size + 6
                out.append(
                    f'<text x="{xk:.1f}" y="{yk:.1f}" font-size="10" fill="{c}" '
                    f'transform="rotate(60 {xk:.1f} {yk:.1f})">{escape(text)}</text>'
                )
        out.append(
            f'<text x="{left + size / 2}" y="{h - 6}" font-size="11" text-anchor="middle" '
            f'fill="{_css(MUTED)}">key →   (rows: queries ↓)</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _text(where: Any, *args: Any, **kwargs: Any) -> Any:
    """matplotlib text that never reads ``$...$`` in token text as mathtext."""
    return where.text(*args, parse_math=False, **kwargs)


def rgb(c: tuple[int, ...]) -> tuple[float, ...]:
    """An 8-bit colour as matplotlib's 0-1 floats."""
    return tuple(v / 255 for v in c)


def _key_label(ax: Any, x: float, y: float, text: str, sink: bool, **kwargs: Any) -> Any:
    """A key's label under the figure, turned 60 degrees; sinks in the sink colour."""
    colour = rgb(SINK if sink else FG)
    return _text(
        ax,
        x,
        y,
        text,
        rotation=-60,
        color=colour,
        ha="left",
        va="top",
        rotation_mode="anchor",
        **kwargs,
    )


def matplotlib_parts() -> tuple[Any, ...]:
    """``(FigureCanvasAgg, Figure, PathPatch, Rectangle, Path)`` for PNG figures, or an
    ``ImportError`` saying how to install matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import PathPatch, Rectangle
        from matplotlib.path import Path
    except ImportError as exc:
        raise ImportError(
            "save_image needs matplotlib for PNG files: pip install 'bos_widget[image]' (or "
            "pip install matplotlib); .svg files need nothing extra."
        ) from exc
    return FigureCanvasAgg, Figure, PathPatch, Rectangle, Path


def png(spec: FigureSpec, path: pathlib.Path, dpi: int = 150, **kwargs: Any) -> None:
    """Draw the figure with matplotlib into ``path`` (PNG)."""
    if kwargs:
        raise TypeError(f"save_image got unexpected keyword argument(s): {', '.join(kwargs)}.")
    FigureCanvasAgg, Figure, PathPatch, Rectangle, Path = matplotlib_parts()
    g = _layout(spec)
    w, h = g["width"], g["height"]
    fig = Figure(figsize=(w / 100, h / 100), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    T = len(spec.labels)

    _text(fig, 8 / w, 1 - 22 / h, spec.title, fontsize=10, weight="bold", color=rgb(FG))
    _text(fig, 8 / w, 1 - 42 / h, spec.subtitle, fontsize=8.5, color=rgb(MUTED))
    # one axes in pixel coordinates of the SVG layout (y down)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")
    if spec.view == "arcs":
        step, left, base, arc_h = g["step"], g["left"], g["base"], g["arc_h"]
        for q, k, wt in arcs(spec.matrix):
            xq, xk = left + (q + 0.5) * step, left + (k + 0.5) * step
            lift = min(arc_h, abs(xq - xk) * 0.6)
            verts = [(xq, base), (xq, base - lift), (xk, base - lift), (xk, base)]
            codes = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4]
            c = rgb(SINK if spec.sinks[k] else ACCENT)
            ax.add_patch(
                PathPatch(
                    Path(verts, codes),
                    fill=False,
                    edgecolor=(*c, 0.15 + 0.85 * wt),
                    linewidth=0.45 + 2.2 * wt,
                )
            )
        ax.plot([left, left + step * T], [base, base], color=rgb(BORDER), linewidth=0.8)
        for i, text in enumerate(spec.labels):
            sink = bool(spec.sinks[i])
            weight = "bold" if sink else "normal"
            _key_label(ax, left + (i + 0.5) * step, base + 6, text, sink, fontsize=7, weight=weight)
    else:
        left, top, size = g["left"], g["top"], g["size"]
        ax.imshow(
            colours(spec.matrix),
            extent=(left, left + size, top + size, top),
            interpolation="nearest",
        )
        cell = size / max(T, 1)
        for k in np.flatnonzero(spec.sinks):
            ax.add_patch(
                Rectangle((left + k * cell, top - 6), max(cell, 2), 4, facecolor=rgb(SINK))
            )
        if T <= LABELS_UP_TO:
            for i, text in enumerate(spec.labels):
                y = top + (i + 0.5) * cell
                _text(ax, left - 4, y, text, fontsize=6, ha="right", va="center", color=rgb(FG))
                x = left + (i + 0.5) * cell
                _key_label(ax, x, top + size + 6, text, bool(spec.sinks[i]), fontsize=6)
        _text(
            ax,
            left + size / 2,
            h - 8,
            "key →   (rows: queries ↓)",
            fontsize=7,
            ha="center",
            color=rgb(MUTED),
        )
    with warnings.catch_warnings():  # glyphs the font lacks (emoji) are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        fig.savefig(path, format="png", dpi=dpi, facecolor="white")
