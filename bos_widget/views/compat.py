"""Widget layer (compat): bertviz's ``head_view`` and ``model_view``, drawn by our widget.

A bertviz user changes one import (``from bos_widget import head_view, model_view``) and
gets an :class:`~bos_widget.AttentionWidget`. Both functions take bertviz's arguments, in
bertviz's positional order, and a few of the other's as keywords:

* ``attention`` (the tuple ``output_attentions=True`` returns) with ``tokens``, or
  ``encoder_attention`` / ``decoder_attention`` / ``cross_attention`` with
  ``encoder_tokens`` / ``decoder_tokens`` (then a :class:`~bos_widget.views.seq2seq.Seq2SeqView`
  switches between them; cross-attention is an interactive view too, decoder queries x
  encoder keys);
* ``sentence_b_start``: the widget's ``segment`` control filters sentence A / B;
* ``include_layers`` / ``include_heads``: the widget offers only those (a sub-run; the header
  label and ``meta["layer_ids"]`` / ``meta["head_ids"]`` give the original numbers);
* ``layer`` / ``heads``: the first view (the widget shows one head, or the mean of heads);
* ``display_mode``: ``"light"`` or ``"dark"`` forces the widget's theme; ``None`` follows
  the notebook's theme;
* ``html_action``: ``"view"`` displays and returns ``None``; ``"return"`` returns an
  ``IPython.display.HTML`` of a standalone page (``.data`` is its source) when the widget can
  export one (``AttentionWidget.to_html``), else the widget itself.

Never imports torch: tensors are read by :mod:`bos_widget.capture.adapters`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..capture.adapters import run_from_attentions
from ..transport.checks import pick
from .seq2seq import Seq2SeqView
from .widget import AttentionWidget

HTML_ACTIONS = ("view", "return")
DISPLAY_MODES = ("light", "dark")
_SPECIAL = re.compile(r"^(\[[A-Za-z_]+\]|<[^<>\s]+>)$")  # [CLS], <s>, <bos>, <|endoftext|>


def _prettify(tokens: Sequence[str]) -> list[str]:
    """bertviz's clean-up: byte-level / SentencePiece space marks to spaces, no ``</w>``."""
    return [t.replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in tokens]


def _non_empty(attention: Any, what: str) -> Any:
    """Refuse an empty tuple with the two usual causes and their fixes."""
    if isinstance(attention, (tuple, list)) and len(attention) == 0:
        raise ValueError(
            f"{what} is an empty tuple: there is nothing to draw. Under transformers 5, "
            "outputs[-1] of an encoder such as BertModel is its (empty) cross_attentions: pass "
            "outputs.attentions instead. If that is empty too, the model ran with sdpa "
            "attention, which returns no weights: load it with attn_implementation='eager'."
        )
    return attention


def _restrict(
    attention: Any, include_layers: Sequence[int] | None, include_heads: Sequence[int] | None
) -> tuple[Any, list[int], list[int], int, int]:
    """Keep only the included layers and heads, before any conversion (bertviz's
    ``format_attention``). Returns the attention, the layer and head ids, and the numbers of
    layers and heads given."""
    n_layers = len(attention)  # a tuple of layers, or an array whose first axis is layers
    if n_layers == 0:
        return attention, [], [], 0, 0
    first: Any = attention[0]
    shape = tuple(first.shape) if hasattr(first, "shape") else np.shape(first)
    if len(shape) < 3:  # not [.., H, T, T]: run_from_attentions says what is wrong
        return attention, list(range(n_layers)), [], n_layers, 0
    n_heads = int(shape[-3])
    # None or empty: every layer / head (bertviz's default)
    layer_ids = pick("include_layers", include_layers or None, range(n_layers))
    head_ids = pick("include_heads", include_heads or None, range(n_heads))
    if layer_ids == list(range(n_layers)) and head_ids == list(range(n_heads)):
        return attention, layer_ids, head_ids, n_layers, n_heads
    kept = []
    for i in layer_ids:
        x = attention[i] if hasattr(attention[i], "shape") else np.asarray(attention[i])
        kept.append(x[..., head_ids, :, :])
    return kept, layer_ids, head_ids, n_layers, n_heads


def _ids_text(what: str, ids: list[int], n: int) -> str:
    """ "layers [5, 6] of 12 shown as 0–1" ("" when all are shown)."""
    if ids == list(range(n)):
        return ""
    shown = "0" if len(ids) == 1 else f"0–{len(ids) - 1}"
    return f"{what} {ids} of {n} shown as {shown}"


def _self_widget(
    attention: Any,
    tokens: Sequence[str],
    *,
    name: str,
    sentence_b_start: int | None,
    prettify_tokens: bool,
    layer: int | None,
    heads: Sequence[int] | None,
    include_layers: Sequence[int] | None,
    include_heads: Sequence[int] | None,
    display_mode: str | None,
    query_tokens: Sequence[str] | None = None,
    what: str = "attention",
) -> AttentionWidget:
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError("tokens must be a list of strings, one per position.")
    shown = _prettify(tokens) if prettify_tokens else list(tokens)
    queries = None
    if query_tokens is not None:  # cross-attention: decoder queries, encoder keys
        queries = list(query_tokens)
        queries = _prettify(queries) if prettify_tokens else queries
    first = str(tokens[0]) if len(tokens) else ""
    attention = _non_empty(attention, what)
    attention, layer_ids, head_ids, n_layers, n_heads = _restrict(
        attention, include_layers, include_heads
    )
    run = run_from_attentions(
        attention,
        shown,
        model=name,
        bos_added=bool(_SPECIAL.match(first)),
        query_tokens=queries,
    )
    if sentence_b_start is not None:
        b = sentence_b_start
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 0 < b < run.T:
            raise ValueError(
                f"sentence_b_start must be a position between 1 and {run.T - 1} (the first "
                f"token of sentence B), got {b!r}."
            )
        run = dataclasses.replace(run, meta=dataclasses.replace(run.meta, segment_b_start=int(b)))
    if layer is not None and layer not in layer_ids:
        raise ValueError(f"layer {layer!r} is not among the layers shown: {layer_ids}.")
    head = -1  # bertviz selects every head at first: the mean of heads is our equivalent
    if heads:
        missing = [h for h in heads if h not in head_ids]
        if missing:
            raise ValueError(f"heads {missing} are not among the heads shown: {head_ids}.")
        if set(heads) != set(head_ids):
            head = head_ids.index(heads[0])
            if len(set(heads)) > 1:
                warnings.warn(
                    f"The widget shows one head at a time, or the mean of heads: showing head "
                    f"{heads[0]} of {list(heads)} (move the head slider for the others).",
                    stacklevel=4,
                )
    label = "; ".join(
        t
        for t in (
            _ids_text("layers", layer_ids, n_layers),
            _ids_text("heads", head_ids, n_heads),
        )
        if t
    )
    start = layer_ids.index(layer) if layer is not None else 0
    widget = AttentionWidget(run, layer=start, head=head, label=label)
    widget.meta = {**widget.meta, "layer_ids": layer_ids, "head_ids": head_ids}
    if display_mode is not None:
        widget.theme = display_mode
    return widget


def _check_mode(display_mode: str | None, html_action: str) -> None:
    if html_action not in HTML_ACTIONS:
        raise ValueError(f"html_action must be 'view' or 'return', got {html_action!r}.")
    if display_mode is not None and display_mode not in DISPLAY_MODES:
        raise ValueError(f"display_mode must be 'light', 'dark' or None, got {display_mode!r}.")


def _as_html(obj: Any) -> Any:
    """An ``IPython.display.HTML`` of the standalone page, if ``obj`` can export one."""
    to_html = getattr(obj, "to_html", None)
    if to_html is None:
        return obj
    from IPython.display import HTML

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "view.html"
        to_html(path)
        return HTML(path.read_text(encoding="utf-8"))


def _view(name: str, args: dict[str, Any]) -> Any:
    a = args
    _check_mode(a["display_mode"], a["html_action"])
    seq2seq = ("encoder_attention", "decoder_attention", "cross_attention")
    seq2seq_tokens = ("encoder_tokens", "decoder_tokens")
    common = {
        k: a[k] for k in ("prettify_tokens", "layer", "heads", "include_layers", "include_heads")
    }
    common["display_mode"] = a["display_mode"]
    if a["attention"] is not None:
        if a["tokens"] is None:
            raise ValueError(f"{name} needs tokens: one string per position of the attention.")
        if any(a[k] is not None for k in (*seq2seq, *seq2seq_tokens)):
            raise ValueError(
                "Pass either attention and tokens (self-attention models) or the encoder / "
                "decoder / cross arguments (encoder-decoder models), not both."
            )
        obj: Any = _self_widget(
            a["attention"],
            a["tokens"],
            name=f"{name} input",
            sentence_b_start=a["sentence_b_start"],
            **common,
        )
    elif any(a[k] is not None for k in seq2seq):
        obj = _seq2seq_view(name, a, common)
    elif a["tokens"] is not None:
        raise ValueError(
            f"{name} got tokens but attention is None: the model returned no attention. Load "
            "it with output_attentions=True and attn_implementation='eager' (or pass "
            "output_attentions=True to the forward call)."
        )
    else:
        raise ValueError(
            f"{name} needs attention: pass attention and tokens, or encoder_attention / "
            "decoder_attention / cross_attention with encoder_tokens / decoder_tokens."
        )
    if a["html_action"] == "return":
        return _as_html(obj)
    from IPython.display import display

    display(obj)
    return None


def _seq2seq_view(name: str, a: dict[str, Any], common: dict[str, Any]) -> Seq2SeqView:
    def need(tokens: str, attention: str) -> Sequence[str]:
        if a[tokens] is None:
            raise ValueError(f"{tokens} is required when {attention} is given.")
        return a[tokens]

    parts: dict[str, Any] = {}
    for part in ("encoder", "decoder"):
        if a[f"{part}_attention"] is not None:
            toks = need(f"{part}_tokens", f"{part}_attention")
            parts[part] = _self_widget(
                a[f"{part}_attention"],
                toks,
                name=f"{name} input ({part})",
                sentence_b_start=None,
                **common,
            )
    if a["cross_attention"] is not None:
        enc = need("encoder_tokens", "cross_attention")
        dec = need("decoder_tokens", "cross_attention")
        parts["cross"] = _self_widget(
            a["cross_attention"],
            enc,
            name=f"{name} input (cross)",
            sentence_b_start=None,
            query_tokens=dec,
            what="cross_attention",
            **common,
        )
    return Seq2SeqView(**parts)


def head_view(
    attention: Any = None,
    tokens: Sequence[str] | None = None,
    sentence_b_start: int | None = None,
    prettify_tokens: bool = True,
    layer: int | None = None,
    heads: Sequence[int] | None = None,
    encoder_attention: Any = None,
    decoder_attention: Any = None,
    cross_attention: Any = None,
    encoder_tokens: Sequence[str] | None = None,
    decoder_tokens: Sequence[str] | None = None,
    include_layers: Sequence[int] | None = None,
    html_action: str = "view",
    *,
    include_heads: Sequence[int] | None = None,
    display_mode: str | None = None,
) -> Any:
    """bertviz's ``head_view``, drawn by :class:`~bos_widget.AttentionWidget`.

    Parameters
    ----------
    attention : tuple of tensors ``[1, H, T, T]`` (one per layer), or array ``[L, H, T, T]``
    tokens : list of str
    sentence_b_start : int, optional
        First position of sentence B: enables the sentence A / B filter (``segment``).
    prettify_tokens : bool
        Turn ``Ġ`` / ``▁`` into spaces and drop ``</w>`` (the view marks spaces as ``␣``).
    layer : int, optional
        Layer shown first (original numbering; must be in ``include_layers``).
    heads : list of int, optional
        Head shown first (the first of the list); default: the mean of heads.
    encoder_attention, decoder_attention, cross_attention : tuples of tensors
        Encoder-decoder models: ``[1, H, T_enc, T_enc]``, ``[1, H, T_dec, T_dec]``,
        ``[1, H, T_dec, T_enc]`` per layer, with ``encoder_tokens`` / ``decoder_tokens``.
    include_layers, include_heads : list of int, optional
        Offer only these layers / heads.
    html_action : {"view", "return"}
    display_mode : {"light", "dark"}, optional
        Force the theme (default: follow the notebook).

    Returns
    -------
    None for ``"view"``; for ``"return"`` an ``IPython.display.HTML`` standalone page when
    the widget can export one, else the widget (``AttentionWidget`` or ``Seq2SeqView``).
    """
    return _view("head_view", locals())


def model_view(
    attention: Any = None,
    tokens: Sequence[str] | None = None,
    sentence_b_start: int | None = None,
    prettify_tokens: bool = True,
    display_mode: str | None = None,
    encoder_attention: Any = None,
    decoder_attention: Any = None,
    cross_attention: Any = None,
    encoder_tokens: Sequence[str] | None = None,
    decoder_tokens: Sequence[str] | None = None,
    include_layers: Sequence[int] | None = None,
    include_heads: Sequence[int] | None = None,
    html_action: str = "view",
    *,
    layer: int | None = None,
    heads: Sequence[int] | None = None,
) -> Any:
    """bertviz's ``model_view``, drawn by :class:`~bos_widget.AttentionWidget`, whose overview
    grid shows every layer and head (click a cell to draw it).

    Takes the same arguments as :func:`head_view`, in bertviz's ``model_view`` order;
    ``display_mode`` defaults to following the notebook's theme (bertviz: ``"dark"``).
    """
    return _view("model_view", locals())
