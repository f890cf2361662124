"""Widget layer: one encoder-decoder input, three attentions, a switch between them.

``Seq2SeqView`` is an ``ipywidgets.VBox``: toggle buttons for encoder self-attention,
decoder self-attention and cross-attention above the selected part. Each part is an
``AttentionWidget`` with the same controls (layer, head, threshold, view, hide-sinks,
weighting, export): cross-attention is a run of its own (``meta.role == "cross"``, decoder
queries x encoder keys, ``run.query_tokens`` the decoder's tokens) that the front end draws as
arcs between two token rows (decoder queries above, encoder keys below) or as a rectangular
matrix; its sink scores are over decoder queries (SCIENCE.md D1 with ``Q(k)`` = every
decoder query). Never imports torch.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np
import traitlets

from ..capture.adapters import run_from_attentions
from ..run import AttentionRun
from .widget import AttentionWidget

PARTS = ("encoder", "decoder", "cross")
PART_LABELS = {
    "encoder": "encoder self-attention",
    "decoder": "decoder self-attention",
    "cross": "cross-attention",
}


def cross_run(decoder: AttentionRun, encoder: AttentionRun) -> AttentionRun | None:
    """The cross-attention run of a decoder run: ``decoder.cross`` where capture made one,
    else one built from ``decoder.cross_attention`` (no value norms); ``None`` without
    either."""
    if decoder.cross is not None:
        return decoder.cross
    if decoder.cross_attention is None:
        return None
    return run_from_attentions(
        decoder.cross_attention,
        encoder.tokens,
        model=encoder.meta.model,
        bos_added=encoder.meta.bos_added,
        query_tokens=decoder.tokens,
    )


class Seq2SeqView(ipywidgets.VBox):
    """Encoder, decoder and cross-attention of one encoder-decoder input, one at a time.

    Attributes
    ----------
    part : str
        ``"encoder"``, ``"decoder"`` or ``"cross"``: the part shown. Set it from Python or
        with the toggle buttons; only parts that were given are offered.
    encoder, decoder, cross : AttentionWidget or None
        The three views; ``cross`` shows a cross-attention run (decoder queries, encoder
        keys): script it like any ``AttentionWidget`` (``view.cross.layer = 2``,
        ``view.cross.save_image(...)``, ``view.cross.to_html(...)``).
    """

    part = traitlets.Unicode("encoder")

    def __init__(
        self,
        encoder: AttentionWidget | None = None,
        decoder: AttentionWidget | None = None,
        cross: AttentionWidget | None = None,
    ) -> None:
        if cross is not None and cross.run.query_tokens is None:
            raise ValueError(
                "cross must show a cross-attention run (decoder queries x encoder keys, with "
                "query_tokens); build it with run_from_attentions(..., query_tokens=...)."
            )
        self.encoder, self.decoder, self.cross = encoder, decoder, cross
        given = {"encoder": encoder, "decoder": decoder, "cross": cross}
        self.parts = tuple(p for p in PARTS if given[p] is not None)
        if not self.parts:
            raise ValueError("Seq2SeqView needs at least one of encoder, decoder or cross.")
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
        ``run`` (encoder), ``run.decoder`` and its cross-attention run; ``widget_options`` go
        to each ``AttentionWidget``."""
        dec = run.decoder
        if dec is None:
            raise ValueError(
                f"{run.meta.model_class or 'This run'} has no decoder run; Seq2SeqView is for "
                "encoder-decoder models. Show a single run with AttentionWidget(run)."
            )
        cross = cross_run(dec, run)
        return cls(
            encoder=AttentionWidget(run, **widget_options),
            decoder=AttentionWidget(dec, **widget_options),
            cross=None if cross is None else AttentionWidget(cross, **widget_options),
        )

    @property
    def cross_attention(self) -> np.ndarray | None:
        """float32 ``[L, H, T_dec, T_enc]``: every cross-attention map (``None`` without a
        cross part)."""
        if self.cross is None:
            return None
        return self.cross.run.require_attention().astype(np.float32)

    @traitlets.validate("part")
    def _valid_part(self, proposal: dict) -> str:
        value = proposal["value"]
        if value not in self.parts:
            raise traitlets.TraitError(f"part must be one of {self.parts}, got {value!r}.")
        return value

    @traitlets.observe("part")
    def _on_part(self, _change: dict) -> None:
        self._show()

    @property
    def current(self) -> AttentionWidget:
        """The widget of the part shown."""
        shown = {"encoder": self.encoder, "decoder": self.decoder, "cross": self.cross}
        widget = shown[self.part]
        assert widget is not None  # parts only lists what was given
        return widget

    def _show(self) -> None:
        if hasattr(self, "_switch"):
            self.children = (self._switch, self.current)
