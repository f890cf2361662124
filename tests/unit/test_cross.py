"""Cross-attention all the way through: capture on tiny T5 and BART, the run, the slice server,
the widget, the three-part view and export; the shared rules of tests/fixtures/cross.json
(vitest reads them too: js/test/cross.test.ts)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
import traitlets

import bos_widget
from bos_widget import AttentionWidget
from bos_widget.analysis import metrics
from bos_widget.capture.adapters import run_from_attentions
from bos_widget.export import figure
from bos_widget.export import page as export
from bos_widget.transport import codec
from bos_widget.transport.slices import SliceServer
from bos_widget.views.seq2seq import Seq2SeqView, cross_run

from . import tiny

FIXTURES = Path(__file__).parent.parent / "fixtures"
CASES = json.loads((FIXTURES / "cross.json").read_text())["cases"]
TEXT, TARGET = "the quick brown fox jumps over the lazy dog", "a cat sat"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['Tq']}x{c['Tk']}")
def test_shared_rules_on_a_rectangular_slice(case):
    A = np.array(case["data"], np.float32).reshape(case["Tq"], case["Tk"])
    alpha = metrics.sink_scores(A, causal=False)  # mean over every decoder query
    np.testing.assert_allclose(alpha, case["alpha"], atol=1e-6)
    sinks = figure.sink_keys(alpha, case["eps"], causal=False)
    assert sinks.tolist() == case["sinks"]
    np.testing.assert_allclose(figure._hide(A, sinks).ravel(), case["hidden"], atol=1e-6)
    assert [list(a) for a in figure.arcs(A)] == [list(a) for a in case["arcs"]]


@pytest.fixture(scope="module", params=["t5", "bart"])
def captured(request):
    model = getattr(tiny, request.param)()
    return bos_widget.capture(model, tiny.tokenizer(), TEXT, decoder_text=TARGET)


def test_capture_makes_a_cross_run_of_decoder_queries_and_encoder_keys(captured):
    enc, dec = captured, captured.decoder
    assert dec is not None and dec.cross is not None
    cross = dec.cross
    assert cross.meta.role == "cross" and cross.meta.causal is False
    assert cross.tokens == enc.tokens and cross.query_tokens == dec.tokens
    assert (cross.T_q, cross.T) == (dec.T, enc.T) and cross.T_q != cross.T
    assert cross.n_layers == dec.n_layers
    # the decoder run's array is the cross run's maps, and every slice is read from them
    assert dec.cross_attention is not None
    np.testing.assert_array_equal(dec.cross_attention, cross.require_attention())
    maps = cross.require_attention().astype(np.float32)
    np.testing.assert_allclose(cross.slice(1, 2), maps[1, 2], atol=1e-3)
    np.testing.assert_allclose(cross.slice(0, -1), maps[0].mean(0), atol=1e-3)
    # D1 over decoder queries: the mean of each encoder key's column
    np.testing.assert_allclose(cross.sink_scores(), maps.mean(axis=2), atol=2e-3)
    assert "T_q=" in repr(cross)


@pytest.mark.parametrize("family", [tiny.t5, tiny.bart], ids=["t5", "bart"])
def test_both_capture_paths_measure_the_encoder_keys_value_norms(family):
    runs = [
        bos_widget.capture(family(), tiny.tokenizer(), TEXT, decoder_text=TARGET, path=p)
        for p in ("factors", "eager")
    ]
    crosses = [r.decoder.cross for r in runs if r.decoder is not None]
    assert [c.meta.path for c in crosses if c is not None] == ["factors", "eager"]
    a, b = crosses
    assert a is not None and b is not None
    for name in ("value_norms", "key_norms", "output_norms"):
        x, y = getattr(a, name), getattr(b, name)
        assert x is not None and x.shape == (a.n_layers, a.n_heads, a.T)  # per encoder key
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    # norm-weighted cross-attention (D3): each decoder row normalised over the encoder keys
    for c in (a, b):
        m = c.slice(0, 1, weighting="norm")
        raw = c.require_attention()[0, 1].astype(np.float32)
        assert c.output_norms is not None
        want = metrics.norm_weighted(raw[None], c.output_norms[0, 1:2])[0]
        np.testing.assert_allclose(m, want, atol=2e-3)
        np.testing.assert_allclose(m.sum(-1), 1.0, atol=1e-3)


def test_the_slice_server_serves_t_q_by_t_slices_and_scores_keys_over_decoder_queries(captured):
    cross = captured.decoder.cross
    server = SliceServer(cross)
    assert server.weightings == ["raw", "norm"] and not server.pooled
    reply, buffers = server.reply(1, -1, "norm")
    got = codec.decode(buffers[0])
    assert got.shape == (cross.T_q, cross.T) and buffers[0][7] == 0  # never triangle-packed
    np.testing.assert_allclose(got, cross.slice(1, -1, weighting="norm"), atol=reply["error_bound"])
    assert reply["stats"] is None  # no residual stream of its own: the norms strip hides
    norm = server.sink_scores(1, 0, "norm")
    np.testing.assert_allclose(norm, cross.slice(1, 0, weighting="norm").mean(0), atol=1e-5)
    grid = np.array(server.sink_grid("raw"))
    np.testing.assert_allclose(grid, cross.sink_scores()[..., 0], atol=1e-4)
    region, blobs = server.reply(0, 0, queries=[1, cross.T_q], keys=[0, 3])
    assert codec.decode(blobs[0]).shape == (cross.T_q - 1, 3) and region["queries"][1] == 4
    with pytest.raises(ValueError, match=f"queries must be a range .* <= {cross.T_q}"):
        server.reply(0, 0, queries=[0, cross.T], keys=[0, 2])


def test_from_model_on_an_encoder_decoder_model_opens_the_three_part_view():
    view = AttentionWidget.from_model(
        tiny.bart(), tiny.tokenizer(), TEXT, decoder_text=TARGET, threshold=0.2
    )
    assert isinstance(view, Seq2SeqView)
    assert view.parts == ("encoder", "decoder", "cross")
    assert view.cross is not None and view.encoder is not None and view.decoder is not None
    w = view.cross
    assert w.threshold == 0.2 and w.meta["role"] == "cross"
    assert w.tokens == list(view.encoder.run.tokens)
    assert w.meta["query_tokens"] == list(view.decoder.run.tokens)
    assert w.meta["weightings"] == ["raw", "norm"]
    raw = w.sink_grid
    w.weighting = "norm"  # the value norms exist: norm weighting is offered and used
    assert len(w.sink_grid) == w.run.n_layers and w.sink_grid != raw
    w.selected = w.run.T_q - 1
    with pytest.raises(traitlets.TraitError, match="between 0 and 3 \\(a query\\)"):
        w.selected = w.run.T_q  # a query index; there are fewer decoder tokens than keys
    assert w.selected == w.run.T_q - 1
    w.hide_sinks, w.view = True, "matrix"
    view.part = "cross"
    assert view.current is w and view.children[1] is w


def test_a_cross_run_from_arrays_checks_its_shapes():
    A = np.full((2, 3, 4, 5), 0.2, np.float32)
    run = run_from_attentions(A, list("abcde"), query_tokens=["<s>", "x", "y", " "])
    assert run.meta.role == "cross" and run.query_tokens == ("<s>", "x", "y", "␣")
    with pytest.raises(ValueError, match=r"must be square.*pass query_tokens"):
        run_from_attentions(A, list("abcde"))
    with pytest.raises(ValueError, match="4 query rows but 3 query_tokens"):
        run_from_attentions(A, list("abcde"), query_tokens=list("xyz"))
    with pytest.raises(TypeError, match="query_tokens must be a list of strings"):
        run_from_attentions(A, list("abcde"), query_tokens="xyzw")
    with pytest.raises(ValueError, match="covers 4 x 5 positions but there are 4 x 4 tokens"):
        bos_widget.AttentionRun(tokens=tuple("abcd"), token_ids=(), attention=A, meta=run.meta)
    with pytest.raises(ValueError, match="cross must show a cross-attention run"):
        Seq2SeqView(cross=AttentionWidget(run_from_attentions(A[..., :4] / 0.8, list("abcd"))))


def test_a_seq2seq_run_without_a_cross_run_gets_one_from_its_array(captured):
    import dataclasses

    dec = dataclasses.replace(captured.decoder, cross=None)
    built = cross_run(dec, captured)
    assert built is not None and built.meta.role == "cross" and built.output_norms is None
    np.testing.assert_array_equal(built.require_attention(), dec.cross_attention)
    assert built.query_tokens == dec.tokens and built.tokens == captured.tokens


@pytest.mark.parametrize("view", ["arcs", "matrix"])
def test_save_image_of_the_cross_widget_draws_two_token_rows(captured, tmp_path, view):
    cross = captured.decoder.cross
    w = AttentionWidget(cross, view=view, threshold=0.1, head=1)
    w.save_image(tmp_path / "c.svg")
    svg = (tmp_path / "c.svg").read_text()
    assert f"cross-attention {cross.T_q} x {cross.T}" in svg and "head 1" in svg
    if view == "arcs":
        assert "decoder</text>" in svg and "encoder</text>" in svg
        assert svg.count("<path") == len(figure.arcs(cross.slice(w.layer, 1)))
    else:
        assert re.search(r'<image [^>]*width="\d', svg) and "encoder key →" in svg
    labels = re.findall(r">([^<>]+)</text>", svg)
    for tok in cross.query_tokens or ():
        assert escape(figure.label(tok)) in labels  # every decoder token is named, as text
    pytest.importorskip("matplotlib")
    w.hide_sinks = True
    w.save_image(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_to_html_of_the_cross_widget_embeds_t_q_by_t_slices(captured, tmp_path):
    cross = captured.decoder.cross
    w = AttentionWidget(cross)
    if not export.STATIC.joinpath("standalone.js").exists():
        pytest.skip("the standalone bundle is not built (npm run build)")
    data = export.page_data(w.run, export.widget_state(w), heads="mean", weightings=["raw", "norm"])
    assert data["state"]["meta"]["query_tokens"] == list(cross.query_tokens or ())
    assert f"cross {cross.T_q} x {cross.T}" in data["title"]
    import base64

    blob = base64.b64decode(data["slices"]["0|-1|norm"]["data"])
    assert codec.decode(blob).shape == (cross.T_q, cross.T)
    page = w.to_html(tmp_path / "cross.html")
    assert page.stat().st_size > 0


def test_a_long_encoder_pools_the_key_axis_only():
    rng = np.random.default_rng(0)
    T, T_q = 2100, 3  # above POOL_ABOVE_T keys: whole slices are not sent
    A = rng.random((1, 2, T_q, T)).astype(np.float32)
    A[..., 0] += 600.0  # a sink on encoder key 0
    A /= A.sum(-1, keepdims=True)
    run = run_from_attentions(A, [f"t{i}" for i in range(T)], query_tokens=["a", "b", "c"])
    server = SliceServer(run)
    assert server.pooled
    reply, (blob, alpha) = server.reply(0, -1)
    got = codec.decode(blob)
    assert got.shape == (T_q, 1024) and reply["queries"] == [0, T_q] and reply["bins"] == 1024
    scores = codec.decode(alpha)
    np.testing.assert_allclose(scores, A[0].mean(0).mean(0), atol=1e-3)  # over decoder queries
    w = AttentionWidget(run)
    assert w.view == "matrix"  # too many keys for arcs


def test_show_on_a_saved_t5_opens_the_three_part_view(tmp_path):
    tiny.t5().save_pretrained(tmp_path)
    tiny.tokenizer().save_pretrained(tmp_path)
    view = bos_widget.show(TEXT, model=str(tmp_path), decoder_text=TARGET, layer=1)
    assert isinstance(view, Seq2SeqView) and view.parts == ("encoder", "decoder", "cross")
    assert view.cross is not None and view.cross.layer == 1
    assert view.cross.run.meta.model == tmp_path.name, "a local folder is named, not its path"
