"""Widget layer: two runs side by side with linked controls (``compare``, ``compare_ablation``).

``compare(a, b)`` puts two ``AttentionWidget`` views in an ``ipywidgets.HBox`` and links
their controls in the browser with ``ipywidgets.jslink`` (no kernel round trip: moving a
slider in one view moves the other, and both send the new value to Python). Setting a linked
trait from Python on the ``Comparison`` itself (``cmp.layer = 5``) sets both sides, so scripts
do not depend on a browser. Never imports torch at import time; ``compare_ablation`` imports
``capture`` and ``experiments`` inside the call.
"""

from __future__ import annotations

from typing import Any

import ipywidgets

from ..run import AttentionRun
from .widget import AttentionWidget

# Traits linked whenever the two runs have the same layers x heads.
LINKED = ("layer", "head", "threshold", "view", "hide_sinks")

ABLATION_LABELS = {
    "zero_value0": "ablated: v₀ zeroed in every layer (zero_first_value)",
    "remove_sink_output": "ablated: first token's output removed (remove_sink_output)",
}


def _as_widget(x: AttentionRun | AttentionWidget, label: str) -> AttentionWidget:
    if isinstance(x, AttentionWidget):
        x.label = label
        return x
    if isinstance(x, AttentionRun):
        return AttentionWidget(x, label=label)
    raise TypeError(
        f"compare takes AttentionRun or AttentionWidget objects, got {type(x).__name__}; "
        "capture a run with bos_widget.capture(...) or build one with bos_widget.show(...)."
    )


def _both(name: str) -> property:
    """A property that reads side ``a`` and sets both sides (for scripts without a browser)."""

    def get(self: Comparison) -> Any:
        return getattr(self.a, name)

    def put(self: Comparison, value: Any) -> None:
        setattr(self.a, name, value)
        setattr(self.b, name, value)

    return property(get, put, doc=f"``{name}`` of side a; setting it sets both sides.")


class Comparison(ipywidgets.HBox):
    """Two ``AttentionWidget`` views side by side; ``a`` and ``b`` are the widgets.

    ``linked`` names the traits kept equal (``selected`` only when both have the same ``T``,
    ``weighting`` only when both offer the same weightings). Reading ``cmp.layer`` reads
    side ``a``; setting it sets both sides.
    """

    def __init__(self, a: AttentionWidget, b: AttentionWidget, linked: tuple[str, ...]):
        super().__init__(children=[a, b], layout=ipywidgets.Layout(width="100%"))
        for w in (a, b):
            w.layout = ipywidgets.Layout(flex="1 1 0", min_width="0")
        self.a, self.b = a, b
        self.linked = linked
        for name in linked:  # start equal, so the links do not have to pick a side
            setattr(b, name, getattr(a, name))
        self.links = [ipywidgets.jslink((a, name), (b, name)) for name in linked]

    layer = _both("layer")
    head = _both("head")
    threshold = _both("threshold")
    view = _both("view")
    weighting = _both("weighting")
    hide_sinks = _both("hide_sinks")
    selected = _both("selected")

    def __repr__(self) -> str:
        return f"Comparison({self.a.label!r}: {self.a!r}, {self.b.label!r}: {self.b!r})"


def compare(
    a: AttentionRun | AttentionWidget,
    b: AttentionRun | AttentionWidget,
    labels: tuple[str, str] = ("A", "B"),
) -> Comparison:
    """Show two runs side by side with linked layer, head, threshold, view, weighting,
    hide-sinks and selection controls.

    Parameters
    ----------
    a, b : AttentionRun or AttentionWidget
        Two texts on one model, or a text and its ablation. They must have the same number of
        layers and heads; ``selected`` is linked only when they also have the same ``T``.
    labels : (str, str)
        Shown first in each view's header (a widget passed in gets its ``label`` set).

    Raises
    ------
    ValueError
        When the two runs have different layers x heads (a linked slider would point past
        the end of one of them).
    """
    if len(labels) != 2:
        raise ValueError(f"labels must be two strings, got {labels!r}.")
    wa, wb = _as_widget(a, str(labels[0])), _as_widget(b, str(labels[1]))
    ra, rb = wa.run, wb.run
    if (ra.n_layers, ra.n_heads) != (rb.n_layers, rb.n_heads):
        raise ValueError(
            f"compare needs runs with the same layers x heads to link their sliders, got "
            f"{ra.n_layers} x {ra.n_heads} ({ra.meta.model}) and {rb.n_layers} x {rb.n_heads} "
            f"({rb.meta.model}); show them as two separate widgets instead."
        )
    linked: list[str] = list(LINKED)
    if wa.meta["weightings"] == wb.meta["weightings"]:
        linked.append("weighting")
    if ra.T == rb.T:
        linked.append("selected")
    return Comparison(wa, wb, tuple(linked))


def compare_ablation(
    model: Any,
    tokenizer: Any,
    text: str,
    ablation: str = "zero_value0",
    **kwargs: Any,
) -> Comparison:
    """Capture ``text`` normally and under an ablation of the first token (SCIENCE.md D8),
    and compare the two side by side.

    Parameters
    ----------
    model, tokenizer
        A causal language model (GPT-2 or Llama family) and its tokenizer.
    text : str
    ablation : {"zero_value0", "remove_sink_output"}
        ``zero_value0``: every layer sees ``v_0 = 0`` (``experiments.zero_first_value``);
        ``remove_sink_output``: queries ``t > 0`` no longer receive what key 0 hands out
        (``experiments.remove_sink_output``).
    **kwargs
        Capture options (``max_tokens``, ``model_name``).
    """
    if ablation not in ABLATION_LABELS:
        raise ValueError(f"ablation must be one of {tuple(ABLATION_LABELS)}, got {ablation!r}.")
    unknown = sorted(set(kwargs) - {"max_tokens", "model_name"})
    if unknown:
        raise TypeError(f"compare_ablation got unexpected keyword argument(s): {unknown}.")
    from ..analysis.experiments import remove_sink_output, zero_first_value
    from ..capture.driver import capture  # imports torch

    scope = zero_first_value if ablation == "zero_value0" else remove_sink_output
    # the ablations edit eager attention's weights as modules return them: both runs eager
    base = capture(model, tokenizer, text, path="eager", **kwargs)
    with scope(model):
        ablated = capture(model, tokenizer, text, path="eager", **kwargs)
    return compare(base, ablated, labels=("unablated", ABLATION_LABELS[ablation]))
