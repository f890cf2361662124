"""Widget layer: one encoder-decoder input, three attentions, a switch between them.

``Seq2SeqView`` is an ``ipywidgets.VBox``: toggle buttons for encoder self-attention,
decoder self-attention and cross-attention above the selected part. Encoder and decoder
self-attention are square and shown by an ``AttentionWidget`` each. Cross-attention
(``[L, H, T_dec, T_enc]``: decoder queries, encoder keys) is not square, and the interactive
front end draws square self-attention only, so that part is a panel that says so, gives the
shape, the encoder tokens that receive the most cross-attention and where the array is kept
(``view.cross_attention``), and draws one layer and head (or the mean of heads) as a static
heatmap (:mod:`bos_widget.crossmap`) chosen with two sliders (``cross_layer``,
``cross_head``). Token text is escaped before it reaches the panel's HTML: it is data, never
markup. Never imports torch.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from .crossmap import cross_svg
from .run import AttentionRun
from .slices import MEAN_HEAD
from .widget import AttentionWidget

PARTS = ("encoder", "decoder", "cross")
PART_LABELS = {
    "encoder": "encoder self-attention",
    "decoder": "decoder self-attention",
    "cross": "cross-attention",
}
CROSS_NOTE = (
    "Cross-attention maps are decoder queries × encoder keys (not square); the interactive "
    "view draws square self-attention only, so they are drawn here as a static heatmap."
)


def cross_key_shares(cross: np.ndarray) -> np.ndarray:
    """Mean cross-attention each encoder key receives, over layers, heads and decoder queries.

    Parameters
    ----------
    cross : np.ndarray
        ``[L, H, T_dec, T_enc]``, rows summing to 1.

    Returns
    -------
    np.ndarray
        float64 ``[T_enc]``, summing to 1 when the rows do.
    """
    return np.asarray(cross, dtype=np.float64).mean(axis=(0, 1, 2))


class Seq2SeqView(ipywidgets.VBox):
    """Encoder, decoder and cross-attention of one encoder-decoder input, one at a time.

    Attributes
    ----------
    part : str
        ``"encoder"``, ``"decoder"`` or ``"cross"``: the part shown. Set it from Python or
        with the toggle buttons; only parts that were given are offered.
    encoder, decoder : AttentionWidget or None
        The self-attention views.
    cross_attention : np.ndarray or None
        float32 ``[L, H, T_dec, T_enc]`` as given.
    cross_layer, cross_head : int
        The cross-attention map drawn (``cross_head=-1``: the mean of heads).
    """

    part = traitlets.Unicode("encoder")
    cross_layer = traitlets.Int(0)
    cross_head = traitlets.Int(MEAN_HEAD)

    def __init__(
        self,
        encoder: AttentionWidget | None = None,
        decoder: AttentionWidget | None = None,
        cross_attention: np.ndarray | None = None,
        encoder_tokens: Sequence[str] = (),
        decoder_tokens: Sequence[str] = (),
    ) -> None:
        self.encoder, self.decoder = encoder, decoder
        self.cross_attention = cross_attention
        self.encoder_tokens = list(encoder_tokens)
        self.decoder_tokens = list(decoder_tokens)
        given = {"encoder": encoder, "decoder": decoder, "cross": cross_attention}
        self.parts = tuple(p for p in PARTS if given[p] is not None)
        if not self.parts:
            raise ValueError("Seq2SeqView needs at least one of encoder, decoder or cross.")
        self._cross_panel = self._cross_part() if cross_attention is not None else None
        self._switch = ipywidgets.ToggleButtons(
            options=[(PART_LABELS[p], p) for p in self.parts],
            value=self.parts[0],
            description="Attention",
            style={"button_width": "auto"},  # the default width cuts the labels
        )
        self._switch.layout.display = "none" if len(self.parts) == 1 else None
        super().__init__()
        self.part = self.parts[0]
        traitlets.link((self._switch, "value"), (self, "part"))
        self._show()

    @classmethod
    def from_run(cls, run: AttentionRun, **widget_options: Any) -> Seq2SeqView:
        """The three parts of an encoder-decoder capture (``capture(...)`` on T5, BART, ...):
        ``run`` (encoder), ``run.decoder`` and its ``cross_attention``; ``widget_options``
        go to both ``AttentionWidget`` views."""
        dec = run.decoder
        if dec is None:
            raise ValueError(
                f"{run.meta.model_class or 'This run'} has no decoder run; Seq2SeqView is for "
                "encoder-decoder models. Show a single run with AttentionWidget(run)."
            )
        cross = dec.cross_attention
        return cls(
            encoder=AttentionWidget(run, **widget_options),
            decoder=AttentionWidget(dec, **widget_options),
            cross_attention=None if cross is None else cross.astype(np.float32),
            encoder_tokens=run.tokens,
            decoder_tokens=dec.tokens,
        )

    @traitlets.validate("part")
    def _valid_part(self, proposal: dict) -> str:
        value = proposal["value"]
        if value not in self.parts:
            raise traitlets.TraitError(f"part must be one of {self.parts}, got {value!r}.")
        return value

    @traitlets.observe("part")
    def _on_part(self, _change: dict) -> None:
        self._show()

    @traitlets.validate("cross_layer", "cross_head")
    def _valid_cross(self, proposal: dict) -> int:
        value, name = int(proposal["value"]), proposal["trait"].name
        if self.cross_attention is not None:
            L, H = self.cross_attention.shape[:2]
            top = (L if name == "cross_layer" else H) - 1
            low = 0 if name == "cross_layer" else MEAN_HEAD
            if not low <= value <= top:
                raise traitlets.TraitError(f"{name} must be between {low} and {top}, got {value}.")
        return value

    @traitlets.observe("cross_layer", "cross_head")
    def _redraw_cross(self, _change: dict) -> None:
        if self.cross_attention is not None and hasattr(self, "cross_map"):
            self.cross_map.value = cross_svg(
                self.cross_attention,
                self.cross_layer,
                self.cross_head,
                self.encoder_tokens,
                self.decoder_tokens,
            )

    @property
    def current(self) -> ipywidgets.Widget:
        """The widget of the part shown (an ``AttentionWidget``, or the cross-attention panel)."""
        shown = {"encoder": self.encoder, "decoder": self.decoder, "cross": self._cross_panel}
        widget = shown[self.part]
        assert widget is not None  # parts only lists what was given
        return widget

    def _show(self) -> None:
        if hasattr(self, "_switch"):
            self.children = (self._switch, self.current)

    def _cross_part(self) -> ipywidgets.VBox:
        cross = self.cross_attention
        assert cross is not None
        L, H, t_dec, t_enc = cross.shape
        lines = [
            CROSS_NOTE,
            f"Shape [layers, heads, decoder queries, encoder keys] = [{L}, {H}, {t_dec}, {t_enc}]"
            "; the array is view.cross_attention.",
        ]
        shares = cross_key_shares(cross)
        top = np.argsort(-shares, kind="stable")[: min(3, t_enc)]
        names = [
            f"#{i} {self.encoder_tokens[i] if i < len(self.encoder_tokens) else '?'!r}: "
            f"{100 * shares[i]:.1f}%"
            for i in top
        ]
        lines.append(
            "Encoder tokens receiving the most cross-attention (mean over layers, heads and "
            "decoder queries): " + ", ".join(names)
        )
        body = "".join(f"<p>{html.escape(text)}</p>" for text in lines)
        self.cross_note = ipywidgets.HTML(value=body)
        self.cross_note.add_class("bosw-cross-note")
        layer = ipywidgets.IntSlider(0, min=0, max=L - 1, description="Layer")
        head = ipywidgets.IntSlider(MEAN_HEAD, min=MEAN_HEAD, max=H - 1, description="Head")
        head.tooltip = "-1: the mean of heads"
        traitlets.link((layer, "value"), (self, "cross_layer"))
        traitlets.link((head, "value"), (self, "cross_head"))
        self.cross_map = ipywidgets.HTML()
        self._redraw_cross({})
        return ipywidgets.VBox([self.cross_note, ipywidgets.HBox([layer, head]), self.cross_map])
