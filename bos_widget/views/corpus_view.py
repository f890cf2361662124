"""Widget layer: ``CorpusView``, the first-position sink score of every head over a corpus.

A layer x head grid coloured by the mean over texts of α₀ (hover and the readout give the 95%
bootstrap interval and n), a strip of the selected head's α₀ on every text, and, when a text
in the strip is picked, an ``AttentionWidget`` of that text at that layer and head below (the
text is captured then). Holds ``[n_texts, L, H]`` numbers (``corpus_alpha.CorpusAlpha``), not
runs. Never imports torch: capture is imported when a text is opened.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ..analysis.corpus_alpha import ALPHA_DEF, DEFAULT_TOKENS, INTERVAL, CorpusAlpha, measure
from .widget import AttentionWidget

_BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "corpus.js"
LABEL_CHARS = 48


def _bundle() -> pathlib.Path | str:
    if _BUNDLE.exists():
        return _BUNDLE
    return (
        "export default { render({ el }) { el.textContent = 'bos_widget: the corpus view bundle "
        "is missing; run `npm run build` (or reinstall the package).'; } };"
    )


def _label(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= LABEL_CHARS else flat[: LABEL_CHARS - 1] + "…"


def _grid(a: Any) -> list[list[float]]:
    return [[float(v) for v in row] for row in a]


class CorpusGrid(anywidget.AnyWidget):
    """The drawn part of ``CorpusView``: grid, readout and per-text strip (synced traits).

    ``layer`` and ``head`` select the head whose per-text α₀ is in ``strip``; ``opened`` is
    the text shown below (None: none). Picking a text in the strip sends ``{"kind": "open",
    "text": i}``.
    """

    _esm = _bundle()

    meta = traitlets.Dict().tag(sync=True)
    mean = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    lo = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    hi = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    strip = traitlets.List(traitlets.Float()).tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    opened = traitlets.Int(None, allow_none=True).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)


class CorpusView(ipywidgets.VBox):
    """Corpus overview: every layer x head coloured by mean α₀ over texts, with its interval.

    Parameters
    ----------
    data : CorpusAlpha
        Per-text α₀ ``[n_texts, L, H]`` (from :func:`bos_widget.analysis.corpus_alpha.measure`).
    model, tokenizer : optional
        Needed only to open a text in the normal view (it is captured when picked).
    layer, head : int
        The head selected at start.

    Read or set ``layer`` and ``head``; ``open_text(i)`` shows text ``i`` at that head below.
    """

    def __init__(
        self,
        data: CorpusAlpha,
        *,
        model: Any = None,
        tokenizer: Any = None,
        layer: int = 0,
        head: int = 0,
        max_tokens: int = DEFAULT_TOKENS,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - {"layout"})
        if unknown:
            raise TypeError(f"CorpusView got unexpected keyword argument(s): {', '.join(unknown)}.")
        if not isinstance(data, CorpusAlpha):
            raise TypeError(
                "CorpusView needs a CorpusAlpha; use CorpusView.from_model(model, tokenizer, "
                "texts) or bos_widget.corpus_view(texts, model=..., tokenizer=...)."
            )
        self.data, self._lm, self._tok, self._max_tokens = data, model, tokenizer, max_tokens
        iv = data.intervals()
        Tmin, Tmax = int(data.T.min()), int(data.T.max())
        meta = {
            "model": data.model,
            "n": data.n,
            "n_layers": data.n_layers,
            "n_heads": data.n_heads,
            "T": str(Tmin) if Tmin == Tmax else f"{Tmin}–{Tmax}",
            "bos_added": data.bos_added,
            "alpha": ALPHA_DEF,
            "interval": INTERVAL,
            "can_open": model is not None and tokenizer is not None,
        }
        self.grid = CorpusGrid(
            meta=meta,
            mean=_grid(iv["mean"]),
            lo=_grid(iv["lo"]),
            hi=_grid(iv["hi"]),
            labels=[_label(t) for t in data.texts],
        )
        self.holder = ipywidgets.VBox()
        super().__init__(children=[self.grid, self.holder], **kwargs)
        self.grid.observe(self._clamp, names=["layer", "head"])
        self.grid.observe(self._restrip, names=["layer", "head"])
        self.grid.on_msg(self._on_message)
        self.layer, self.head = layer, head
        self._restrip()

    @classmethod
    def from_model(
        cls,
        model: Any,
        tokenizer: Any,
        texts: Sequence[str] | str = "explain",
        *,
        max_tokens: int = DEFAULT_TOKENS,
        progress: bool = True,
        **kwargs: Any,
    ) -> CorpusView:
        """Measure α₀ of every head on each text (``"explain"``: explain's corpus) and show it."""
        data = measure(model, tokenizer, texts, max_tokens=max_tokens, progress=progress)
        return cls(data, model=model, tokenizer=tokenizer, max_tokens=max_tokens, **kwargs)

    # ---- state users script against ------------------------------------------------------
    @property
    def layer(self) -> int:
        return self.grid.layer

    @layer.setter
    def layer(self, value: int) -> None:
        self.grid.layer = self._checked("layer", value, self.data.n_layers)

    @property
    def head(self) -> int:
        return self.grid.head

    @head.setter
    def head(self, value: int) -> None:
        self.grid.head = self._checked("head", value, self.data.n_heads)

    @property
    def attention(self) -> AttentionWidget | None:
        """The normal view of the opened text, or None."""
        kids = self.holder.children
        return kids[0] if kids and isinstance(kids[0], AttentionWidget) else None

    def open_text(self, text: int) -> AttentionWidget:
        """Capture text ``text`` and show it below at the selected layer and head."""
        n = self.data.n
        if isinstance(text, bool) or not isinstance(text, int) or not 0 <= text < n:
            raise ValueError(f"text must be an index between 0 and {n - 1}, got {text!r}.")
        if self._lm is None or self._tok is None:
            raise ValueError(
                "This CorpusView has no model: pass model= and tokenizer= to open a text in "
                "the normal view."
            )
        from ..capture.driver import capture  # imports torch; the view itself does not

        self.grid.status = f"Capturing text {text}…"
        try:
            run = capture(self._lm, self._tok, self.data.texts[text], max_tokens=self._max_tokens)
        except Exception as exc:
            self.grid.status = f"Could not capture text {text}: {exc}"
            raise
        w = AttentionWidget(run, layer=self.layer, head=self.head, label=f"text {text}")
        self.holder.children = [w]
        self.grid.opened = text
        self.grid.status = ""
        return w

    # ---- handlers -------------------------------------------------------------------------
    @staticmethod
    def _checked(name: str, value: Any, n: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise ValueError(f"{name} must be an integer between 0 and {n - 1}, got {value!r}.")
        return value

    def _clamp(self, change: dict) -> None:
        n = self.data.n_layers if change["name"] == "layer" else self.data.n_heads
        if not 0 <= change["new"] < n:  # a bad value from the front end: keep the old one
            setattr(self.grid, change["name"], change["old"])

    def _restrip(self, _change: Any = None) -> None:
        layer = min(max(self.grid.layer, 0), self.data.n_layers - 1)
        head = min(max(self.grid.head, 0), self.data.n_heads - 1)
        self.grid.strip = [float(v) for v in self.data.head(layer, head)]

    def _on_message(self, _w: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "open":
            try:
                self.open_text(content.get("text"))  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - the view stays usable and says why
                self.grid.status = str(exc)

    def __repr__(self) -> str:
        d = self.data
        return f"CorpusView({d.model!r}, n={d.n} texts, {d.n_layers}x{d.n_heads} heads)"


def corpus_view(
    texts: Sequence[str] | str = "explain",
    *,
    model: Any,
    tokenizer: Any,
    max_tokens: int = DEFAULT_TOKENS,
    progress: bool = True,
    **kwargs: Any,
) -> CorpusView:
    """Corpus overview of ``model``: mean α₀ of every head over ``texts`` with its interval.

    ``texts="explain"`` takes explain's 120 texts; each text is cut to ``max_tokens`` tokens
    and captured in turn (SmolLM2-135M on two busy CPU cores: about 6 s a text, so about 11
    minutes for 120; a GPU or fewer texts is quicker). See :class:`CorpusView`.
    """
    return CorpusView.from_model(
        model, tokenizer, texts, max_tokens=max_tokens, progress=progress, **kwargs
    )
