"""Widget layer (export): the current view of a cross-attention widget as SVG or PNG.

Cross-attention is ``[T_q, T]`` (decoder queries, encoder keys), so its static figure differs
from :mod:`bos_widget.export.figure`'s square one: arcs run between two token rows (decoder queries
above, encoder keys below) and the matrix has ``T_q`` rows of ``T`` cells. Reads only a
:class:`~bos_widget.export.figure.FigureSpec` (``query_labels`` set), which
:func:`bos_widget.export.figure.spec_of` makes from ``(run, state)``, never a widget; colours, arc
pruning and the heatmap PNG are figure's.
Token text is escaped XML character data in SVG and plain text in matplotlib, never markup.
"""

from __future__ import annotations

import base64
import pathlib
import warnings
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from .figure import (
    ACCENT,
    BG,
    BORDER,
    FG,
    MUTED,
    SINK,
    FigureSpec,
    _css,
    _text,
    _xml_safe,
    arcs,
    colours,
    matplotlib_parts,
    png_bytes,
    rgb,
)

LABELS_UP_TO = 64  # name every token of an axis up to this many


def layout(spec: FigureSpec) -> dict[str, float]:
    """Pixel geometry of the figure (SVG user units; matplotlib reuses it)."""
    t_q, t_k = spec.matrix.shape
    if spec.view == "arcs":
        width = max(760.0, 60 + 12.0 * max(t_q, t_k))
        return {
            "width": width,
            "left": 30.0,
            "right": width - 30,
            "top": 150.0,
            "bottom": 390.0,
            "height": 500.0,
        }
    cell = max(1.0, min(40.0, 600.0 / max(t_q, t_k)))
    margin = 110.0 if max(t_q, t_k) <= LABELS_UP_TO else 40.0
    w, h = cell * t_k, cell * t_q
    return {
        "left": margin,
        "top": 70.0,
        "cell": cell,
        "w": w,
        "h": h,
        "width": max(margin + w + 30, 760.0),
        "height": 70 + h + margin + 20,
    }


def xs(n: int, left: float, right: float) -> np.ndarray:
    """x of each of ``n`` tokens spread evenly over ``[left, right]``."""
    step = (right - left) / max(n, 1)
    return left + (np.arange(n) + 0.5) * step


def _header(spec: FigureSpec, w: float, h: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="system-ui, sans-serif">',
        f"<title>{escape(_xml_safe(spec.title))}</title>",
        f'<rect width="100%" height="100%" fill="{_css(BG)}"/>',
        f'<text x="8" y="22" font-size="14" font-weight="600" fill="{_css(FG)}">'
        f"{escape(_xml_safe(spec.title))}</text>",
        f'<text x="8" y="42" font-size="12" fill="{_css(MUTED)}">'
        f"{escape(_xml_safe(spec.subtitle))}</text>",
    ]


def _label(x: float, y: float, text: str, colour: tuple[int, ...], angle: int, end: bool) -> str:
    anchor = ' text-anchor="end"' if end else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" fill="{_css(colour)}"{anchor} '
        f'transform="rotate({angle} {x:.1f} {y:.1f})">{escape(text)}</text>'
    )


def svg(spec: FigureSpec) -> str:
    """The cross-attention figure as an SVG document (a string)."""
    assert spec.query_labels is not None
    g = layout(spec)
    t_q, t_k = spec.matrix.shape
    out = _header(spec, g["width"], g["height"])
    if spec.view == "arcs":
        top, bottom = g["top"], g["bottom"]
        xq, xk = xs(t_q, g["left"], g["right"]), xs(t_k, g["left"], g["right"])
        mid = (top + bottom) / 2
        for q, k, wt in arcs(spec.matrix):
            c = _css(SINK if spec.sinks[k] else ACCENT)
            out.append(
                f'<path d="M{xq[q]:.1f},{top} C{xq[q]:.1f},{mid:.1f} {xk[k]:.1f},{mid:.1f} '
                f'{xk[k]:.1f},{bottom}" fill="none" stroke="{c}" '
                f'stroke-width="{0.6 + 3 * wt:.2f}" stroke-opacity="{0.15 + 0.85 * wt:.2f}"/>'
            )
        for y in (top, bottom):
            out.append(
                f'<line x1="{g["left"]}" y1="{y}" x2="{g["right"]}" y2="{y}" '
                f'stroke="{_css(BORDER)}"/>'
            )
        for q, text in enumerate(spec.query_labels):
            out.append(_label(xq[q], top - 6, text, FG, -60, False))
        for k, text in enumerate(spec.labels):
            out.append(_label(xk[k], bottom + 12, text, SINK if spec.sinks[k] else FG, 60, False))
        out.append(
            f'<text x="8" y="{top - 4}" font-size="11" fill="{_css(MUTED)}">decoder</text>'
            f'<text x="8" y="{bottom + 4}" font-size="11" fill="{_css(MUTED)}">encoder</text>'
        )
    else:
        left, top, cell, w, h = g["left"], g["top"], g["cell"], g["w"], g["h"]
        img = base64.b64encode(png_bytes(colours(spec.matrix))).decode("ascii")
        out.append(
            f'<image x="{left}" y="{top}" width="{w:.1f}" height="{h:.1f}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{img}"/>'
            f'<rect x="{left - 1}" y="{top - 1}" width="{w + 2:.1f}" height="{h + 2:.1f}" '
            f'fill="none" stroke="{_css(BORDER)}"/>'
        )
        for k in np.flatnonzero(spec.sinks):
            out.append(
                f'<rect x="{left + k * cell:.2f}" y="{top - 6}" width="{max(cell, 2):.2f}" '
                f'height="4" fill="{_css(SINK)}"/>'
            )
        if max(t_q, t_k) <= LABELS_UP_TO:
            for q, text in enumerate(spec.query_labels):
                y = top + (q + 0.5) * cell
                out.append(
                    f'<text x="{left - 4}" y="{y:.1f}" font-size="10" text-anchor="end" '
                    f'dominant-baseline="middle" fill="{_css(FG)}">{escape(text)}</text>'
                )
            for k, text in enumerate(spec.labels):
                colour = SINK if spec.sinks[k] else FG
                out.append(_label(left + (k + 0.5) * cell, top + h + 6, text, colour, 60, False))
        out.append(
            f'<text x="{left + w / 2:.1f}" y="{g["height"] - 6}" font-size="11" '
            f'text-anchor="middle" fill="{_css(MUTED)}">encoder key →   (rows: decoder queries '
            "↓)</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def png(spec: FigureSpec, path: pathlib.Path, dpi: int = 150, **kwargs: Any) -> None:
    """Draw the cross-attention figure with matplotlib into ``path`` (PNG)."""
    if kwargs:
        raise TypeError(f"save_image got unexpected keyword argument(s): {', '.join(kwargs)}.")
    FigureCanvasAgg, Figure, PathPatch, Rectangle, Path = matplotlib_parts()
    assert spec.query_labels is not None
    g = layout(spec)
    w, h = g["width"], g["height"]
    t_q, t_k = spec.matrix.shape
    fig = Figure(figsize=(w / 100, h / 100), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    _text(fig, 8 / w, 1 - 22 / h, spec.title, fontsize=10, weight="bold", color=rgb(FG))
    _text(fig, 8 / w, 1 - 42 / h, spec.subtitle, fontsize=8.5, color=rgb(MUTED))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))  # pixel coordinates of the SVG layout (y down)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")

    def name(x: float, y: float, text: str, sink: bool, angle: int) -> None:
        colour = rgb(SINK if sink else FG)
        va = "bottom" if angle < 0 else "top"
        _text(
            ax,
            x,
            y,
            text,
            rotation=-angle,
            color=colour,
            ha="left",
            va=va,
            rotation_mode="anchor",
            fontsize=7,
            weight="bold" if sink else "normal",
        )

    if spec.view == "arcs":
        top, bottom = g["top"], g["bottom"]
        xq, xk = xs(t_q, g["left"], g["right"]), xs(t_k, g["left"], g["right"])
        mid = (top + bottom) / 2
        for q, k, wt in arcs(spec.matrix):
            verts = [(xq[q], top), (xq[q], mid), (xk[k], mid), (xk[k], bottom)]
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
        for y in (top, bottom):
            ax.plot([g["left"], g["right"]], [y, y], color=rgb(BORDER), linewidth=0.8)
        for q, text in enumerate(spec.query_labels):
            name(xq[q], top - 6, text, False, -60)
        for k, text in enumerate(spec.labels):
            name(xk[k], bottom + 6, text, bool(spec.sinks[k]), 60)
        _text(ax, 8, top - 4, "decoder", fontsize=7, color=rgb(MUTED))
        _text(ax, 8, bottom + 12, "encoder", fontsize=7, color=rgb(MUTED))
    else:
        left, top, cell, mw, mh = g["left"], g["top"], g["cell"], g["w"], g["h"]
        extent = (left, left + mw, top + mh, top)
        ax.imshow(colours(spec.matrix), extent=extent, interpolation="nearest")
        for k in np.flatnonzero(spec.sinks):
            ax.add_patch(
                Rectangle((left + k * cell, top - 6), max(cell, 2), 4, facecolor=rgb(SINK))
            )
        if max(t_q, t_k) <= LABELS_UP_TO:
            for q, text in enumerate(spec.query_labels):
                y = top + (q + 0.5) * cell
                _text(ax, left - 4, y, text, fontsize=6, ha="right", va="center", color=rgb(FG))
            for k, text in enumerate(spec.labels):
                name(left + (k + 0.5) * cell, top + mh + 6, text, bool(spec.sinks[k]), 60)
        _text(
            ax,
            left + mw / 2,
            h - 8,
            "encoder key →   (rows: decoder queries ↓)",
            fontsize=7,
            ha="center",
            color=rgb(MUTED),
        )
    with warnings.catch_warnings():  # glyphs the font lacks (emoji) are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        fig.savefig(path, format="png", dpi=dpi, facecolor="white")
