"""Corpus overview data path: per-text α₀ from real captures, intervals over texts, the view's
Python state (strip, open, bad input)."""

from __future__ import annotations

import numpy as np
import pytest

import bos_widget
from bos_widget.analysis.corpus_alpha import CorpusAlpha, bootstrap_mean, measure, resolve_texts
from bos_widget.views.corpus_view import CorpusView, corpus_view

from . import tiny

TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "a cat sat on the mat and looked at the dog",
    "my dog ran over the hill to the old mill",
]


@pytest.fixture(scope="module")
def llama():
    return tiny.llama(), tiny.tokenizer()


def _data(alpha: np.ndarray) -> CorpusAlpha:
    n = len(alpha)
    return CorpusAlpha(
        alpha=alpha.astype(np.float32),
        texts=tuple(f"text {i}" for i in range(n)),
        T=np.full(n, 8),
        model="hand-built",
        bos_added=False,
        first_tokens=("x",) * n,
    )


def test_measure_keeps_first_position_alpha_of_each_capture(llama):
    model, tok = llama
    data = measure(model, tok, TEXTS, max_tokens=6, progress=False)
    assert data.alpha.shape == (3, model.config.num_hidden_layers, model.config.num_attention_heads)
    for i, text in enumerate(TEXTS):
        run = bos_widget.capture(model, tok, text, max_tokens=6)
        np.testing.assert_allclose(data.alpha[i], run.sink_scores()[:, :, 0], rtol=1e-5)
        assert data.T[i] == run.T == 6
    # alpha of key 0 includes query 0 (weight 1), so it is at least 1/T
    assert (data.alpha >= 1 / 6 - 1e-6).all()


def test_interval_is_a_bootstrap_over_texts():
    rng = np.random.default_rng(1)
    alpha = rng.uniform(0.2, 0.9, size=(40, 3, 2))
    iv = _data(alpha).intervals()
    np.testing.assert_allclose(iv["mean"], alpha.mean(0), rtol=1e-6)
    assert (iv["lo"] <= iv["mean"]).all() and (iv["mean"] <= iv["hi"]).all()
    # about the normal-theory width 2 * 1.96 * sd / sqrt(n) for a mean of 40 values
    width = iv["hi"] - iv["lo"]
    normal = 2 * 1.96 * alpha.std(0, ddof=1) / np.sqrt(40)
    np.testing.assert_allclose(width, normal, rtol=0.2)
    # the same as explain's bootstrap of one cell (same method, same seed)
    from bos_widget.explain.stats import bootstrap

    one = bootstrap(alpha[:, 1, 0])
    assert one.lo == pytest.approx(iv["lo"][1, 0]) and one.hi == pytest.approx(iv["hi"][1, 0])


def test_constant_texts_give_a_zero_width_interval():
    iv = bootstrap_mean(np.full((5, 2, 2), 0.4))
    np.testing.assert_allclose(iv["lo"], 0.4)
    np.testing.assert_allclose(iv["hi"], 0.4)


def test_texts_explain_is_explains_corpus_and_bad_texts_are_refused():
    assert len(resolve_texts("explain")) == 120
    with pytest.raises(ValueError, match="Wrap a single text in a list"):
        resolve_texts("just one text")
    with pytest.raises(ValueError, match="non-empty"):
        resolve_texts([])
    with pytest.raises(ValueError, match=r"entries \[1\]"):
        resolve_texts(["ok", "  "])


def test_view_state_follows_layer_and_head():
    alpha = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2) / 24
    view = CorpusView(_data(alpha), layer=2, head=1)
    assert view.grid.strip == pytest.approx(list(alpha[:, 2, 1]))
    assert view.grid.meta["n"] == 4 and view.grid.meta["can_open"] is False
    view.grid.head = 0  # as the front end would
    assert view.grid.strip == pytest.approx(list(alpha[:, 2, 0]))
    assert np.array(view.grid.mean) == pytest.approx(alpha.mean(0))
    with pytest.raises(ValueError, match="layer must be an integer between 0 and 2"):
        view.layer = 3
    view.grid.layer = 7  # a bad value from the front end is undone
    assert view.layer == 2
    # no model: opening says so in the view and nothing breaks
    view.grid._handle_custom_msg({"kind": "open", "text": 1}, [])
    assert "no model" in view.grid.status and view.attention is None
    with pytest.raises(TypeError, match="unexpected keyword"):
        CorpusView(_data(alpha), colour="red")


def test_open_shows_the_text_at_the_selected_head(llama):
    model, tok = llama
    view = corpus_view(TEXTS, model=model, tokenizer=tok, max_tokens=6, progress=False)
    view.layer, view.head = 1, 2
    view.grid._handle_custom_msg({"kind": "open", "text": 2}, [])
    w = view.attention
    assert w is not None and view.grid.opened == 2 and view.grid.status == ""
    assert (w.layer, w.head) == (1, 2)
    assert w.sink_grid[1][2] == pytest.approx(float(view.data.alpha[2, 1, 2]), rel=1e-3)
    view.grid._handle_custom_msg({"kind": "open", "text": 9}, [])
    assert "between 0 and 2" in view.grid.status and view.grid.opened == 2
