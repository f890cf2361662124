"""Widget layer (helper): one cross-attention map as a static SVG heatmap.

Cross-attention ``[L, H, T_dec, T_enc]`` (decoder queries, encoder keys) is not square, and
the interactive front end draws square self-attention only; :func:`cross_svg` draws one
layer and head (or the mean of heads) of it as SVG text for ``Seq2SeqView``'s cross panel.
The cells are an embedded PNG (``figure.png_bytes``, the front end's colour ramp on a √
scale), so nothing is fetched and no float is written as text. Token labels are escaped XML
character data (``figure.label`` then ``escape``), never markup. Pure numpy, no torch.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

from . import figure
from .slices import MEAN_HEAD

MAX_TOKENS = 512  # per axis; longer maps are not drawn (the panel says so)
LABELS_FROM = 9.0  # a cell at least this many px tall gets its token written next to it


def cross_matrix(cross: np.ndarray, layer: int, head: int) -> np.ndarray:
    """float32 ``[T_dec, T_enc]``: one head of one layer, or the mean of heads (``head=-1``)."""
    L, H = cross.shape[:2]
    if not 0 <= layer < L:
        raise ValueError(f"layer must be between 0 and {L - 1}, got {layer}.")
    if not (head == MEAN_HEAD or 0 <= head < H):
        raise ValueError(f"head must be between 0 and {H - 1}, or -1 for the mean, got {head}.")
    m = cross[layer].mean(axis=0) if head == MEAN_HEAD else cross[layer, head]
    return np.asarray(m, dtype=np.float32)


def cross_svg(
    cross: np.ndarray,
    layer: int,
    head: int,
    encoder_tokens: Sequence[str],
    decoder_tokens: Sequence[str],
) -> str:
    """SVG text of ``cross_matrix(cross, layer, head)`` with a title saying what it is.

    Parameters
    ----------
    cross : np.ndarray
        ``[L, H, T_dec, T_enc]``, rows summing to 1.
    layer, head : int
        ``head=-1`` draws the mean of heads.
    encoder_tokens, decoder_tokens : sequence of str
        Column (key) and row (query) labels.
    """
    m = cross_matrix(cross, layer, head)
    t_dec, t_enc = m.shape
    L, H = cross.shape[:2]
    heads = f"mean of {H} heads" if head == MEAN_HEAD else f"head {head}/{H - 1}"
    title = (
        f"Cross-attention A[decoder query, encoder key] · layer {layer}/{L - 1} · {heads} · "
        f"{t_dec} x {t_enc} · √ scale"
    )
    if max(t_dec, t_enc) > MAX_TOKENS:
        return (
            f"<p>{escape(title)}: not drawn, longer than {MAX_TOKENS} tokens; the array is "
            "view.cross_attention.</p>"
        )
    cell = max(1.0, min(32.0, 480.0 / max(t_dec, t_enc)))
    labels = cell >= LABELS_FROM
    left, top = (120.0 if labels else 20.0), 34.0
    w, h = t_enc * cell, t_dec * cell
    width = max(left + w + 20, 7.0 * len(title))  # room for the title on one line
    height = top + h + (100.0 if labels else 20.0)
    png = base64.b64encode(figure.png_bytes(figure.colours(m))).decode("ascii")
    fg, muted = f"rgb{figure.FG}", f"rgb{figure.MUTED}"  # the figure's light-theme colours
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="18" font-size="12" fill="{fg}">{escape(title)}</text>',
        f'<image x="{left}" y="{top}" width="{w:.1f}" height="{h:.1f}" '
        f'preserveAspectRatio="none" style="image-rendering: pixelated" '
        f'href="data:image/png;base64,{png}"/>',
        f'<rect x="{left - 0.5}" y="{top - 0.5}" width="{w + 1:.1f}" height="{h + 1:.1f}" '
        f'fill="none" stroke="{muted}"/>',
    ]
    if labels:
        for q, tok in enumerate(decoder_tokens[:t_dec]):
            y = top + (q + 0.5) * cell
            parts.append(
                f'<text x="{left - 4}" y="{y:.1f}" font-size="10" text-anchor="end" '
                f'dominant-baseline="middle" fill="{fg}">{escape(figure.label(tok))}</text>'
            )
        for k, tok in enumerate(encoder_tokens[:t_enc]):
            x, y = left + (k + 0.5) * cell, top + h + 6
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" fill="{fg}" '
                f'transform="rotate(60 {x:.1f} {y:.1f})">{escape(figure.label(tok))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
