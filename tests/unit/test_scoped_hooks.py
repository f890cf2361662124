"""hooks.ScopedHooks and hooks.attention_implementation: the one scoped way into a model.

DESIGN.md: hooks are registered inside a ``with`` block and removed in ``finally``. Every
recorder and edit of capture, the experiments and explain goes through these two; each is run
here on a tiny model, made to fail, and the model is checked to hold no hook of ours and its
own attention implementation afterwards.
"""

from contextlib import nullcontext

import pytest
import torch

from bos_widget.analysis.experiments import remove_sink_output, zero_first_value
from bos_widget.analysis.experiments._forward import Recorder as ExperimentRecorder
from bos_widget.capture.eager import Recorder as CaptureRecorder
from bos_widget.capture.eager import eager_attention
from bos_widget.capture.hooks import (
    CaptureError,
    ScopedHooks,
    attention_implementation,
    find_attention_sites,
)
from bos_widget.capture.outputs_path import _Layout, _ValueHooks
from bos_widget.capture.record import recording
from bos_widget.explain.passes import residual
from bos_widget.explain.probe import probe

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"


def _hooks(model: torch.nn.Module) -> dict[str, int]:
    """Forward and pre-forward hooks per module (with-kwargs ones included)."""
    return {
        name: len(m._forward_hooks) + len(m._forward_pre_hooks) for name, m in model.named_modules()
    }


def _ours(model: torch.nn.Module) -> list[str]:
    hooks = [
        h
        for m in model.modules()
        for h in (*m._forward_hooks.values(), *m._forward_pre_hooks.values())
    ]
    return [h.__qualname__ for h in hooks if getattr(h, "__module__", "").startswith("bos_widget")]


@pytest.fixture
def model():
    m = tiny.llama()
    assert m.config._attn_implementation == "sdpa"
    return m


@pytest.fixture(scope="module")
def inputs():
    return dict(tiny.tokenizer()(TEXT, return_tensors="pt"))


def test_scoped_hooks_remove_every_hook_when_the_block_raises(model, inputs):
    before = _hooks(model)
    seen, held = [], []

    def run_and_fail():
        with ScopedHooks() as hooks:
            for block in model.model.layers:
                hooks.forward(block, lambda m, a, out: seen.append(1))
                hooks.forward_pre(block, lambda m, a, kw: None, with_kwargs=True)
            held.append((len(hooks), _hooks(model)))
            model(**inputs)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_and_fail()
    assert held[0][0] == 2 * len(model.model.layers) and held[0][1] != before
    assert seen == [1] * len(model.model.layers)  # they ran inside the block
    assert _hooks(model) == before and not _ours(model)


def test_a_recorder_that_fails_while_installing_leaves_nothing(model):
    class HalfWay(ScopedHooks):
        def install(self):
            self.forward(model.model.layers[0], lambda m, a, out: None)
            raise TypeError("no projection here")

    before = _hooks(model)
    with pytest.raises(TypeError, match="no projection"), HalfWay():
        pass
    assert _hooks(model) == before


def _boom(module, args, output):
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    "scope",
    [
        "capture recorder",
        "experiment recorder",
        "zero_first_value",
        "remove_sink_output",
        "residual",
        "value hooks",
        "recording",
        "probe",
    ],
)
def test_every_scoped_user_cleans_up_after_the_forward_raises(model, inputs, scope):
    sites = find_attention_sites(model)
    blocks = {"self": model.model.layers[-1]}
    weights = ("capture recorder", "experiment recorder", "remove_sink_output")
    eager = eager_attention(model) if scope in weights else nullcontext()  # they read weights
    users = {
        "capture recorder": lambda: CaptureRecorder(sites, None, blocks=blocks),
        "experiment recorder": lambda: ExperimentRecorder(sites, values=True),
        "zero_first_value": lambda: zero_first_value(model),
        "remove_sink_output": lambda: remove_sink_output(model),
        "residual": lambda: residual(model, record=[], perturb=lambda e: e),
        "value hooks": lambda: _ValueHooks(
            model, _Layout("self_attn.v_proj", "self_attn.o_proj"), 4
        ),
        "recording": lambda: recording(model, sites),
        "probe": lambda: probe(model, True),
    }
    before, inside = _hooks(model), {}
    mlp = model.model.layers[1].mlp.register_forward_hook(_boom)

    def run_and_fail():
        nonlocal inside
        with eager, users[scope]():
            inside = _hooks(model)
            model(**inputs)

    with pytest.raises(RuntimeError, match="boom"):
        run_and_fail()
    mlp.remove()
    assert _hooks(model) == before and not _ours(model)
    assert model.config._attn_implementation == "sdpa"
    if scope not in ("recording", "probe"):  # these switch the attention function instead
        assert sum(inside.values()) > sum(before.values()) + 1  # it did register hooks


def test_attention_implementation_switches_and_restores(model, inputs):
    with attention_implementation(model, "eager") as before:
        assert before == "sdpa" and model.config._attn_implementation == "eager"
        with attention_implementation(model, "eager") as again:  # already eager: no switch
            assert again == "eager"
        assert model.config._attn_implementation == "eager"
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(RuntimeError, match="boom"), attention_implementation(model, "eager"):
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"


def test_a_refused_switch_raises_the_callers_sentence_or_runs_as_loaded(model):
    def refused(exc):
        return CaptureError(f"cannot switch ({type(exc).__name__})")

    with (
        pytest.raises(CaptureError, match="cannot switch"),
        attention_implementation(model, "no-such-attention", refused),
    ):
        pass
    assert model.config._attn_implementation == "sdpa"
    with attention_implementation(model, "no-such-attention") as before:  # runs as loaded
        assert before == "sdpa" and model.config._attn_implementation == "sdpa"
    assert model.config._attn_implementation == "sdpa"
