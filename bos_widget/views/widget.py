"""Widget layer: ``AttentionWidget``, a thin list of synced traits and message handlers.

The state sent when the comm opens is small JSON (tokens, meta, the layers x heads sink
grid); attention slices follow as binary custom messages when the front end asks for them
(Colab drops binary buffers present at comm open). Never imports torch.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..analysis import metrics
from ..capture.adapters import run_from_attentions
from ..capture.lens import run_from_transformer_lens
from ..export import page as export
from ..run import AttentionRun
from ..transport.checks import WEIGHTINGS, check_request
from ..transport.slices import MEAN_HEAD, POOL_ABOVE_T, POOL_BINS, SliceServer
from ..transport.snapshot import snapshot as slice_snapshot
from .traits import Choice, Fraction

if TYPE_CHECKING:  # Seq2SeqView (a VBox) is built on this module: typed by its base here
    import ipywidgets

_STATIC = pathlib.Path(__file__).parent.parent / "static"
VIEWS = ("arcs", "matrix")
SEGMENTS = ("all", "A→A", "A→B", "B→A", "B→B")  # sentence-pair filter, twin of js/src/segments.ts
THEMES = ("auto", "light", "dark")  # auto follows the notebook's theme
ARC_VIEW_MAX_TOKENS = 160  # longer inputs open in the matrix view
CAPTURE_OPTIONS = frozenset(
    {"max_tokens", "decoder_text", "model_name", "progress", "keep", "path", "device"}
    | {"factor_dtype", "max_new_tokens", "generate_kwargs"}
)
WIDGET_OPTIONS = frozenset(
    {"layer", "head", "threshold", "view", "weighting", "hide_sinks", "label", "layout"}
)


def _bundle() -> pathlib.Path | str:
    path = _STATIC / "widget.js"
    if path.exists():
        return path
    return (
        "export default { render({ el }) { el.textContent = 'bos_widget: the JavaScript bundle "
        "is missing; run `npm run build` (or reinstall the package).'; } };"
    )


def _segment_name(value: Any) -> str:
    """The segment's own name: "A->B" and "A → B" are read as "A→B"."""
    return str(value).replace("->", "→").replace(" ", "")


class AttentionWidget(anywidget.AnyWidget):
    """Interactive view of one ``AttentionRun``: arcs or matrix, sliders, sink overview.

    The view opens on ``layer`` when it is given, else on the layer whose heads put the most
    attention on position 0 (the largest mean over heads of α[l, h, 0]). Runs captured with
    ``max_new_tokens`` show a step control: ``step`` (read or set; ``None`` for every query)
    selects the query row of one generation step.

    Python owns the state: read or set ``layer``, ``head`` (-1 = mean of heads),
    ``threshold``, ``view``, ``selected``, ``weighting`` and ``hide_sinks`` (draw the
    attention with the current sink keys' columns removed and rows renormalised); the view
    follows, and moving a control in the view updates these traits. For a sentence pair,
    ``segment`` ("all", "A→A", "A→B", "B→A", "B→B"; "A->B" is accepted) draws only the
    attention of one sentence's queries to one sentence's keys; ``theme`` ("auto", "light",
    "dark") forces a palette. ``label`` is shown first in the header (``compare`` uses it to
    name the two sides).
    """

    _esm = _bundle()

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)
    sink_grid = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(MEAN_HEAD).tag(sync=True)
    threshold = Fraction(0.3, min=0.0, max=1.0).tag(sync=True)  # eps of D1/D2: α lies in [0, 1]
    view = Choice(VIEWS, "arcs").tag(sync=True)
    selected = traitlets.Int(None, allow_none=True).tag(sync=True)
    weighting = Choice(WEIGHTINGS, "raw").tag(sync=True)  # and one this run holds (validator)
    hide_sinks = traitlets.Bool(False).tag(sync=True)  # Bool rejects anything but bools / 0 / 1
    label = traitlets.Unicode("").tag(sync=True)
    segment = Choice(SEGMENTS, "all", normalise=_segment_name).tag(sync=True)
    theme = Choice(THEMES, "auto").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # the current slice as base64 (bounded; bos_widget.transport.snapshot), set once a view has
    # asked for a slice, so that a notebook saved with its widget state draws the view without
    # a kernel
    snapshot = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        run: AttentionRun,
        *,
        layer: int | None = None,
        head: int = MEAN_HEAD,
        threshold: float = 0.3,
        view: str | None = None,
        weighting: str = "raw",
        hide_sinks: bool = False,
        label: str = "",
        **kwargs: Any,
    ) -> None:
        allowed = {"layout"}  # ipywidgets' own styling argument
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(
                f"AttentionWidget got unexpected keyword argument(s): {', '.join(unknown)}."
            )
        if not isinstance(run, AttentionRun):
            raise TypeError(
                "AttentionWidget needs an AttentionRun; use AttentionWidget.from_model(...) or "
                "AttentionWidget.from_attentions(...)."
            )
        self._server = SliceServer(run)
        self._run = run
        m = run.meta
        meta = {
            "model": m.model,
            "model_class": m.model_class,
            "causal": m.causal,
            "bos_added": m.bos_added,
            "first_token": m.first_token,
            "role": m.role,
            "n_layers": run.n_layers,
            "n_heads": run.n_heads,
            "n_kv_heads": m.n_kv_heads,
            "T": run.T,
            "weightings": self._server.weightings,
            "segment_b_start": m.segment_b_start,
            "last_hidden": m.last_hidden,  # what the norms strip's last layer row shows
            "summary": run.summary.left_out if run.summary is not None else None,
            # above POOL_ABOVE_T tokens the view asks for regions pooled to its pixels (at
            # most pool_bins blocks a side); arcs, hidden sinks and segments need every value
            "pooled": self._server.pooled,
            "pool_bins": POOL_BINS,
            "prompt_len": m.prompt_len,  # generated runs: where the prompt ends
            # learned sink logits (gpt-oss): slices carry the "sink slot" column (run.slot)
            "sink_slot": run.sink_slot is not None,
        }
        if run.query_tokens is not None:  # cross-attention: decoder queries, encoder keys
            meta["query_tokens"] = list(run.query_tokens)
        if view is None:
            view = "arcs" if max(run.T, run.T_q) <= ARC_VIEW_MAX_TOKENS else "matrix"
        super().__init__(tokens=list(run.tokens), meta=meta, label=label, **kwargs)
        # validated assignments, after meta exists
        self.weighting = weighting
        self.sink_grid = self._server.sink_grid(weighting)
        if layer is None:  # open on the view that answers the question
            layer = metrics.strongest_sink_layer(self._server.sink_grid("raw"))
        self.layer, self.head, self.threshold, self.view = layer, head, threshold, view
        self.hide_sinks = hide_sinks
        self.on_msg(self._on_message)

    # ---- ways in -------------------------------------------------------------------------
    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, text: str, text_pair: str | None = None, **kwargs: Any
    ) -> AttentionWidget | ipywidgets.VBox:
        """Capture ``model`` on ``text`` and show it. Capture options (``max_tokens``,
        ``decoder_text``, ``model_name``, ``progress``, ``keep``, ``path``, ``device``,
        ``factor_dtype``, ``max_new_tokens``, ``generate_kwargs``) and widget options may be
        mixed. With ``max_new_tokens``, any other keyword goes to ``model.generate``
        (``do_sample=True``, ``temperature=...``). An encoder-decoder model (T5, BART, ...)
        opens a :class:`~bos_widget.views.seq2seq.Seq2SeqView` of its three attentions (encoder
        self, decoder self, cross), each an ``AttentionWidget`` with these widget options."""
        from ..capture.driver import capture  # imports torch; the widget module itself does not

        cap = {k: kwargs.pop(k) for k in list(kwargs) if k in CAPTURE_OPTIONS}
        if "max_new_tokens" in cap:
            gen = {k: kwargs.pop(k) for k in list(kwargs) if k not in WIDGET_OPTIONS}
            if gen:
                cap["generate_kwargs"] = {**(cap.get("generate_kwargs") or {}), **gen}
        run = capture(model, tokenizer, text, text_pair, **cap)
        if run.decoder is not None:
            from .seq2seq import Seq2SeqView  # a layer above this module: imported lazily

            return Seq2SeqView.from_run(run, **kwargs)
        return cls(run, **kwargs)

    @classmethod
    def from_attentions(
        cls,
        attentions: Any,
        tokens: Sequence[str],
        *,
        model: str = "attention from arrays",
        **kwargs: Any,
    ) -> AttentionWidget:
        """Show attention you already have: the tuple Hugging Face returns for
        ``output_attentions=True`` (torch or numpy), an array ``[L, H, T, T]``, or the list of
        ``[1, H, T, T]`` weights saved in an nnsight trace (each attention module's
        ``output[1]``, under eager attention; README "Bring your own")."""
        run_keys = {"causal", "bos_added"}
        opts = {k: kwargs.pop(k) for k in list(kwargs) if k in run_keys}
        return cls(run_from_attentions(attentions, tokens, model=model, **opts), **kwargs)

    @classmethod
    def from_transformer_lens(cls, cache: Any, tokens: Any, **kwargs: Any) -> AttentionWidget:
        """Show a TransformerLens ``ActivationCache`` (``_, cache = model.run_with_cache(
        tokens)``); the conversion is ``bos_widget.capture.lens.run_from_transformer_lens``.

        Parameters
        ----------
        cache : transformer_lens.ActivationCache or dict of hook names
            Every layer's ``cache["pattern", l]`` ``[B, H, T, T]`` is shown; ``v`` (with the
            model's ``W_O``) adds value norms and the norm-weighted view, ``resid_pre`` and
            the last ``resid_post`` the hidden-state norms, where the cache holds them.
        tokens : token ids ``[B, T]`` or ``[T]``, or list of str
            The ids the model ran on (shown through ``cache.model.tokenizer``) or one
            display string per position.
        **kwargs
            ``batch_index`` (required when ``B > 1``), ``model`` (default
            ``cfg.model_name``), ``causal``, ``bos_added``; the rest go to the widget.
        """
        run_keys = {"batch_index", "model", "causal", "bos_added"}
        opts = {k: kwargs.pop(k) for k in list(kwargs) if k in run_keys}
        return cls(run_from_transformer_lens(cache, tokens, **opts), **kwargs)

    @property
    def run(self) -> AttentionRun:
        """The run this widget shows."""
        return self._run

    @property
    def step(self) -> int | None:
        """Generated runs: the generation step whose query row is selected (``1 .. n`` for
        ``n`` generated tokens; step ``s`` is the pass that chose generated token ``s``, its
        query the position before it), or ``None``. Set it to select that row."""
        P, T = self._run.meta.prompt_len, self._run.T
        sel = self.selected
        if P is None or sel is None or not P - 1 <= sel <= T - 2:
            return None
        return sel - P + 2

    @step.setter
    def step(self, value: int | None) -> None:
        P, T = self._run.meta.prompt_len, self._run.T
        if P is None:
            raise ValueError(
                "This run has no generated tokens; capture with max_new_tokens=... to step "
                "through generation."
            )
        if value is None:
            self.selected = None
            return
        n = T - P
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n:
            raise ValueError(f"step must be an integer between 1 and {n}, or None, got {value!r}.")
        self.selected = P + value - 2

    # ---- validation: a bad value raises and leaves the widget as it was ------------------
    # (the trait types above refuse values outside their sets; these add what needs the run)
    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict) -> int:
        value = _not_bool("layer", proposal["value"])
        _checked(self._run, layer=value)
        return value

    @traitlets.validate("head")
    def _valid_head(self, proposal: dict) -> int:
        value = _not_bool("head", proposal["value"])
        _checked(self._run, head=value)
        return value

    @traitlets.validate("view")
    def _valid_view(self, proposal: dict) -> str:
        if proposal["value"] == "arcs" and self._server.pooled:
            raise traitlets.TraitError(
                f"The arcs view draws every query's arcs from the whole [T, T] slice, which is "
                f"not sent above T = {POOL_ABOVE_T} (this text has T = {self._run.T}); use the "
                "matrix view (drag to zoom into a block of it), or capture fewer tokens "
                "(max_tokens=...) for arcs."
            )
        return proposal["value"]

    @traitlets.validate("hide_sinks")
    def _valid_hide_sinks(self, proposal: dict) -> bool:
        if proposal["value"] and self._server.pooled:
            raise traitlets.TraitError(_needs_every_value("Hiding sinks", self._run.T))
        return proposal["value"]

    @traitlets.validate("weighting")
    def _valid_weighting(self, proposal: dict) -> str:
        _checked(self._run, weighting=proposal["value"])
        return proposal["value"]

    @traitlets.validate("selected")
    def _valid_selected(self, proposal: dict) -> int | None:
        value = _not_bool("selected", proposal["value"])
        if value is not None and not 0 <= value < self._run.T_q:
            raise traitlets.TraitError(
                f"selected must be a token index between 0 and {self._run.T_q - 1} (a query), "
                "or None."
            )
        return value

    @traitlets.validate("segment")
    def _valid_segment(self, proposal: dict) -> str:
        value = proposal["value"]  # already one of SEGMENTS (the Choice trait)
        if value != "all" and self._run.meta.segment_b_start is None:
            raise traitlets.TraitError(
                "segment filters need a sentence pair; capture with text_pair=... (or pass "
                "sentence_b_start to head_view / model_view)."
            )
        if value != "all" and self._server.pooled:
            raise traitlets.TraitError(_needs_every_value("A segment filter", self._run.T))
        return value

    @traitlets.observe("weighting")
    def _recolour_grid(self, change: dict) -> None:
        self.sink_grid = self._server.sink_grid(change["new"])

    # ---- messages from the front end -----------------------------------------------------
    def set_state(self, sync_data: dict) -> None:
        """Apply a state update from a view. A value the validators refuse changes nothing
        here; the view is sent the kernel's values back and the reason for its banner."""
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as exc:
            self.send_state([k for k in sync_data if k in self.keys])
            self.send({"kind": "error", "message": str(exc)})

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "settled":
            self._settled(content)
            return
        if not isinstance(content, dict) or content.get("kind") != "request":
            return
        try:
            layer, head = int(content["layer"]), int(content["head"])
            weighting = str(content.get("weighting", "raw"))
        except (KeyError, TypeError, ValueError, OverflowError):
            self.send({"kind": "error", "message": _malformed(content)})
            return
        region = {k: content[k] for k in ("queries", "keys", "bins", "pool") if k in content}
        try:
            reply, buffers = self._server.reply(layer, head, weighting, **region)
        except (TypeError, ValueError) as exc:
            self.send({"kind": "error", "message": str(exc)})
            return
        self.send(dict(reply), buffers=buffers)
        self._server.warm(layer, head)  # once: later switches find their slices encoded
        if region or self._snapshot_live:  # the snapshot keeps whole slices; later ones: settled
            return
        if (layer, head, weighting) == (self.layer, self.head, self.weighting):
            self._snapshot_live = True
            self._update_snapshot()

    # The snapshot costs bytes on every update (the slice again, as base64), so it is not sent
    # on every switch: the view's first slice sets it, then the view says when it has settled
    # on one ("settled", after a second or so still); a layer, head or weighting set from
    # Python updates it at once. Once it has not fitted (it is bounded; the size depends only
    # on T and the encoding), it is never computed again.
    _snapshot_live = False
    _snapshot_fits = True

    def _settled(self, content: dict) -> None:
        shown = (content.get("layer"), content.get("head"), content.get("weighting"))
        if self._snapshot_live and shown == (self.layer, self.head, self.weighting):
            self._update_snapshot(force=True)

    @traitlets.observe("layer", "head", "weighting")
    def _update_snapshot(self, _change: Any = None, force: bool = False) -> None:
        if not (self._snapshot_live and self._snapshot_fits):
            return
        # ipywidgets holds the view's values here while it applies them: the view's own
        # switches wait for "settled"
        if not force and {"layer", "head", "weighting"} & set(self._property_lock):
            return
        snap = slice_snapshot(self._server, self.layer, self.head, self.weighting)
        self._snapshot_fits = snap is not None
        self.snapshot = dict(snap) if snap is not None else {}

    # ---- export --------------------------------------------------------------------------
    def to_html(self, path: str | pathlib.Path, **options: Any) -> pathlib.Path:
        """Write one self-contained HTML file that shows this widget offline, with the same
        controls. Options: ``layers``, ``heads`` ("all", "mean" or a list), ``weightings``,
        ``encoding`` ("uint8" halves the size), ``max_mb`` (default 25); see
        :func:`bos_widget.export.page.to_html`."""
        return export.to_html(self._run, export.widget_state(self), path, **options)

    def save_image(self, path: str | pathlib.Path, **options: Any) -> pathlib.Path:
        """Write the current view as ``.svg`` (no extra dependency) or ``.png`` (needs
        matplotlib: ``pip install 'bos_widget[image]'``; option ``dpi``)."""
        return export.save_image(self._run, export.widget_state(self), path, **options)

    def __repr__(self) -> str:
        return f"AttentionWidget({self._run!r}, layer={self.layer}, head={self.head})"


def _checked(run: AttentionRun, **request: Any) -> None:
    """``checks.check_request`` (the slice server's rule too), refusing as a ``TraitError``."""
    try:
        check_request(run, **request)
    except ValueError as exc:
        raise traitlets.TraitError(str(exc)) from None


def _not_bool(name: str, value: Any) -> Any:
    if isinstance(value, bool):  # traitlets.Int takes bools; the view would get `true`
        raise traitlets.TraitError(f"{name} must be an integer, got {value!r}.")
    return value


def _needs_every_value(what: str, T: int) -> str:
    return (
        f"{what} needs every value of the [T, T] slice, which is not sent above "
        f"T = {POOL_ABOVE_T} (this text has T = {T}); zoom into a block of the matrix, or "
        "capture fewer tokens (max_tokens=...)."
    )


def _malformed(content: dict) -> str:
    shown = repr(content)
    shown = shown if len(shown) <= 200 else shown[:200] + "…"
    return (
        f"The view sent a malformed slice request {shown}: 'layer' and 'head' must be "
        "integers. Re-run the cell to reconnect."
    )


def show(
    text: str, model: str = "smollm2", text_pair: str | None = None, **kwargs: Any
) -> AttentionWidget | ipywidgets.VBox:
    """One line from text to widget: ``bos_widget.show("some text")``.

    Parameters
    ----------
    text : str
    model : str
        ``"smollm2"`` (default, offline), ``"minilm"`` (offline), or a hub id. Loaded models
        are kept for the session, so a second call is fast.
    **kwargs
        Capture and widget options, as for :meth:`AttentionWidget.from_model` (an
        encoder-decoder model opens the three-part ``Seq2SeqView``); with
        ``max_new_tokens=N`` the model first continues ``text`` by up to ``N`` tokens (greedy
        unless generation options such as ``do_sample=True`` are passed too).
    """
    from ..models import load_cached

    loaded, tokenizer = load_cached(model)
    return AttentionWidget.from_model(loaded, tokenizer, text, text_pair, **kwargs)
