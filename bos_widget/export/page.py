"""Widget layer (export): one self-contained offline HTML page, and images.

Every function here reads ``(run, state)``: the :class:`~bos_widget.run.AttentionRun` shown and
the widget's synced traits as a dict (:func:`widget_state`, what the front end is sent), never
the widget class, so that this module sits below :mod:`bos_widget.views.widget` and imports nothing
above it (``AttentionWidget.to_html`` and ``save_image`` call in here).

:func:`to_html` writes a single file holding the front end's standalone bundle
(``static/standalone.js``: the same widget plus a stand-in for the kernel) and the run as JSON:
the widget's traits and every requested ``(layer, head, weighting)`` slice, encoded by
:class:`~bos_widget.transport.slices.SliceServer` and base64'd
(:func:`bos_widget.transport.snapshot.embedded`).
Nothing in the page is fetched; a Content-Security-Policy forbids it. Token and model text sit
only inside a ``<script type="application/json">`` element with ``<``, ``>``, ``&`` and
U+2028/9 escaped as ``\\uXXXX``: they are data, never markup.

:func:`save_image` draws the current view as SVG (pure Python) or PNG (matplotlib, the
``image`` extra); the drawing itself lives in :mod:`bos_widget.export.figure` (square) and
:mod:`bos_widget.export.crossfig` (cross-attention).
"""

from __future__ import annotations

import json
import math
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import anywidget

from .._version import __version__
from ..run import AttentionRun
from ..transport import codec
from ..transport.checks import pick
from ..transport.slices import MEAN_HEAD, POOL_ABOVE_T, SliceServer
from ..transport.snapshot import embedded
from . import crossfig, figure

STATIC = pathlib.Path(__file__).parent.parent / "static"
MAX_MB = 25.0  # default cap of an exported page

_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
)


def _finite(x: Any) -> Any:
    """``x`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def script_json(obj: Any) -> str:
    """JSON text that is safe inside ``<script type="application/json">``: ``<``, ``>``,
    ``&`` and U+2028/U+2029 are written as ``\\uXXXX`` escapes (they can only occur inside
    JSON strings, where the escape means the same character)."""
    text = json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def _script_js(source: str) -> str:
    """A bundle made safe to inline in ``<script>``: no ``</script`` or ``<!--`` left."""
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")


def widget_state(widget: anywidget.AnyWidget) -> dict[str, Any]:
    """The widget's own synced traits (not ipywidgets' layout/ESM ones, not the snapshot): the
    ``state`` that the functions here and :func:`bos_widget.export.figure.spec_of` read."""
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    names = sorted(set(widget.trait_names(sync=True)) - base - {"snapshot"})
    return {n: getattr(widget, n) for n in names if not n.startswith("_")}


def page_data(
    run: AttentionRun,
    state: Mapping[str, Any],
    *,
    layers: Iterable[int] | None = None,
    heads: Iterable[int] | Literal["all", "mean"] = "all",
    weightings: Iterable[str] | None = None,
    encoding: codec.Encoding | None = None,
    max_mb: float = MAX_MB,
) -> dict[str, Any]:
    """What the page embeds: traits, slices, and a sentence on what was left out.

    ``state`` is the widget's synced traits (:func:`widget_state`); the page opens on its
    layer, head and weighting where they are exported. Raises ``ValueError`` when the page
    would exceed ``max_mb`` megabytes, saying how to make it smaller, before encoding most of
    the slices.
    """
    server = SliceServer(run, cache_size=1, encoding=encoding)
    if server.pooled:  # the page answers from embedded slices: it could not zoom in
        raise ValueError(
            f"An exported page holds whole [T, T] slices, and above T = {POOL_ABOVE_T} tokens "
            f"(this run has T = {run.T}) the widget only shows pooled blocks that it asks the "
            "kernel for as you zoom, which a page without a kernel cannot do. Export a capture "
            f"of at most {POOL_ABOVE_T} tokens (max_tokens=...)."
        )
    summary = getattr(run, "summary", None) is not None  # only head means were kept
    all_heads = [MEAN_HEAD] if summary else [MEAN_HEAD, *range(run.n_heads)]
    if heads == "all":
        heads = all_heads
    elif heads == "mean":
        heads = [MEAN_HEAD]
    ls = sorted(pick("layers", layers, list(range(run.n_layers))))
    hs = sorted(pick("heads", cast(Iterable[int], heads), all_heads))
    ws = list(weightings) if weightings is not None else server.weightings
    for w in ws:
        server.check(0, MEAN_HEAD, w)
    state = dict(state)
    # the opening view must be in the page: start on the first exported layer/head/weighting
    state["layer"] = state["layer"] if state["layer"] in ls else ls[0]
    state["head"] = state["head"] if state["head"] in hs else hs[0]
    state["weighting"] = state["weighting"] if state["weighting"] in ws else ws[0]
    keys = [(layer, h, w) for layer in ls for h in hs for w in ws]
    slices: dict[str, dict[str, Any]] = {}
    limit = max_mb * 1e6
    for i, (layer, h, w) in enumerate(keys):
        reply, buffers = server.reply(layer, h, w)
        slices[f"{layer}|{h}|{w}"] = dict(embedded(reply, buffers[0], buffers))
        if i == 0:  # every slice has the same size: estimate the page from the first
            one = len(script_json(slices[f"{layer}|{h}|{w}"]))
            estimate = one * len(keys) + len(script_json(state))
            if estimate > limit:
                raise ValueError(_too_big(estimate, max_mb, len(ls), len(hs), run.T, server))
    held = []
    if len(ls) < run.n_layers:
        held.append(f"layers {ls} of 0-{run.n_layers - 1}")
    if len(hs) < len(all_heads):
        held.append("the mean of heads" if hs == [MEAN_HEAD] else f"heads {hs} (-1 = mean)")
    omitted = (
        "This page holds "
        + (" and ".join(held) if held else "every slice")
        + ("; export again with more (to_html(layers=..., heads=...)) to see it.")
    )
    m = state.get("meta", {})
    size = f"T={run.T}" if run.query_tokens is None else f"cross {run.T_q} x {run.T}"
    title = f"{m.get('model', 'attention')} · {size} · bos_widget"
    return {"state": state, "slices": slices, "omitted": omitted, "title": title}


def _too_big(size: float, max_mb: float, n_l: int, n_h: int, T: int, s: SliceServer) -> str:
    quant = "" if s.encoding == "uint8" else ", encoding='uint8' (about half the size)"
    return (
        f"The export would be about {size / 1e6:.1f} MB ({n_l} layers x {n_h} heads incl. the "
        f"mean, T={T}), above the {max_mb:g} MB cap. Make it smaller with fewer layers "
        f"(layers=[0, 5, 10]), heads='mean'{quant}, weightings=['raw'], or fewer tokens "
        f"(capture with max_tokens=...); or raise the cap with max_mb=..."
    )


def html(run: AttentionRun, state: Mapping[str, Any], **options: Any) -> str:
    """The standalone page as a string (options as for :func:`page_data`)."""
    bundle = STATIC / "standalone.js"
    if not bundle.exists():
        raise FileNotFoundError(
            f"The standalone bundle {bundle} is missing; run `npm run build` in the repository "
            "(or reinstall bos_widget)."
        )
    data = script_json(page_data(run, state, **options))
    js = _script_js(bundle.read_text(encoding="utf-8"))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f'<meta name="generator" content="bos_widget {__version__}">\n'
        "<title>bos_widget export</title>\n"
        "<style>body { margin: 0; padding: 16px; background: #fff; } "
        "#bosw-app { max-width: 1100px; }</style>\n</head>\n<body>\n"
        '<div id="bosw-app"></div>\n'
        "<noscript>This page draws the attention figure with JavaScript.</noscript>\n"
        f'<script type="application/json" id="bosw-data">{data}</script>\n'
        f"<script>{js}</script>\n</body>\n</html>\n"
    )


def to_html(
    run: AttentionRun, state: Mapping[str, Any], path: str | pathlib.Path, **options: Any
) -> pathlib.Path:
    """Write the standalone page to ``path`` (UTF-8) and return the path.

    Parameters
    ----------
    run : AttentionRun
    state : mapping
        The widget's synced traits (:func:`widget_state`).
    path : str or Path
    layers : iterable of int, optional
        Layers to include (default all).
    heads : "all", "mean" or iterable of int
        Heads to include; ``-1`` is the mean of heads (default: every head and the mean).
    weightings : iterable of str, optional
        ``"raw"`` and/or ``"norm"`` (default: what the run has).
    encoding : {"float16", "uint8"}, optional
        uint8 halves the size, with the error bound stated in the figure caption.
    max_mb : float
        Refuse (``ValueError``, saying how to shrink it) above this size; default 25.
    """
    out = pathlib.Path(path)
    out.write_text(html(run, state, **options), encoding="utf-8")
    return out


def save_image(
    run: AttentionRun, state: Mapping[str, Any], path: str | pathlib.Path, **options: Any
) -> pathlib.Path:
    """Write the view that ``state`` selects (layer, head, weighting, view, threshold, hidden
    sinks, segment) as ``.svg`` or ``.png``; see :func:`bos_widget.export.figure.spec_of`."""
    out = pathlib.Path(path)
    suffix = out.suffix.lower()
    spec = figure.spec_of(run, state)
    draw = crossfig if spec.query_labels is not None else figure  # cross: [T_q, T]
    if suffix == ".svg":
        out.write_text(draw.svg(spec), encoding="utf-8")
    elif suffix == ".png":
        draw.png(spec, out, **options)
    else:
        raise ValueError(f"save_image writes .png or .svg files, got {out.name!r}.")
    return out
