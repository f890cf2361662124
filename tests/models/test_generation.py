"""Generation: capture(..., max_new_tokens=N) on the demo decoders.

The claim under test (bos_widget/capture/generation.py): row n_prompt + s - 2 of the forward
over prompt + generated tokens is the attention the model paid at generation step s.
transformers' own generate(output_attentions=True) under eager attention records what each step
attended to; the two must agree.
"""

import numpy as np
import pytest

import bos_widget
from bos_widget import AttentionWidget, CaptureError, capture

PROMPT = "The capital of France is"


def _generated_attentions(model, tokenizer, n):
    enc = tokenizer(PROMPT, return_tensors="pt")
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        out = model.generate(
            **enc,
            max_new_tokens=n,
            do_sample=False,
            output_attentions=True,
            return_dict_in_generate=True,
            pad_token_id=tokenizer.eos_token_id,
        )
    finally:
        model.set_attn_implementation(before)
    return out.sequences[0].tolist(), out.attentions


@pytest.mark.parametrize("name", ["smollm2", "gemma3"])
def test_rows_equal_the_attention_of_each_generation_step(name, request):
    model, tokenizer = request.getfixturevalue(name)
    n = 6
    run = capture(model, tokenizer, PROMPT, max_new_tokens=n, progress=False)
    ids, steps = _generated_attentions(model, tokenizer, n)
    n_prompt = run.meta.prompt_len
    assert n_prompt == len(tokenizer(PROMPT)["input_ids"])
    assert list(run.token_ids) == ids, "greedy by default: the same tokens as generate()"
    assert n_prompt + len(steps) == run.T
    worst = 0.0
    for s, per_layer in enumerate(steps, start=1):  # step s chose the token at n_prompt + s - 1
        q = n_prompt + s - 2
        for layer in (0, run.n_layers // 2, run.n_layers - 1):
            want = per_layer[layer][0, :, -1, :].float().numpy()  # [H, n_prompt + s - 1]
            for head in range(run.n_heads):
                got = run.slice(layer, head, queries=(q, q + 1))[0, : want.shape[1]]
                worst = max(worst, float(np.abs(got - want[head]).max()))
    assert worst < 2e-3, f"largest difference {worst:.2e}"


def test_widget_steps_select_the_query_that_chose_each_token(smollm2):
    model, tokenizer = smollm2
    w = AttentionWidget.from_model(model, tokenizer, PROMPT, max_new_tokens=4, progress=False)
    n_prompt = w.run.meta.prompt_len
    assert w.meta["prompt_len"] == n_prompt and w.step is None
    w.step = 1
    assert w.selected == n_prompt - 1, "step 1's query is the last prompt token"
    w.step = 4
    assert w.selected == n_prompt + 2
    w.selected = 0
    assert w.step is None, "a prompt row before the last is no generation step"
    with pytest.raises(ValueError, match="between 1 and 4"):
        w.step = 5
    assert w.selected == 0, "a refused step changes nothing"


def test_generate_options_reach_generate(smollm2):
    model, tokenizer = smollm2
    greedy = capture(model, tokenizer, PROMPT, max_new_tokens=3, progress=False)
    # a stop token that is the first greedy token ends generation after one step
    first = greedy.token_ids[greedy.meta.prompt_len]
    run = capture(
        model,
        tokenizer,
        PROMPT,
        max_new_tokens=3,
        generate_kwargs={"eos_token_id": first},
        progress=False,
    )
    assert run.meta.prompt_len + 1 == run.T


def test_show_passes_generation_options(smollm2):
    w = bos_widget.show(PROMPT, max_new_tokens=2, do_sample=False, layer=1, progress=False)
    assert w.layer == 1 and w.run.meta.prompt_len + 2 == w.run.T


def test_encoders_are_refused_with_a_sentence(minilm):
    model, tokenizer = minilm
    with pytest.raises(CaptureError, match="cannot generate text"):
        capture(model, tokenizer, PROMPT, max_new_tokens=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_new_tokens": 0}, ValueError, "at least 1"),
        ({"max_new_tokens": 2.5}, TypeError, "must be an int"),
        ({"max_new_tokens": 10**6}, ValueError, "new tokens fit"),
        ({"generate_kwargs": {"top_k": 5}}, ValueError, "needs max_new_tokens"),
        ({"max_new_tokens": 2, "generate_kwargs": {"input_ids": 1}}, TypeError, "may not set"),
    ],
)
def test_bad_generation_options_say_what_to_do(smollm2, kwargs, error, match):
    model, tokenizer = smollm2
    with pytest.raises(error, match=match):
        capture(model, tokenizer, PROMPT, **kwargs)
