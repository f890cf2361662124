"""bertviz drop-in: bertviz's README examples run with only the import changed.

The hub is unreachable here, so ``AutoModel`` / ``AutoTokenizer.from_pretrained`` are
replaced by stand-ins that return tiny randomly initialised models of the same family
(``tiny.py``): a 12-layer x 12-head BERT for the BERT examples, BART or T5 for the MarianMT
one. The widgets the examples display are collected from ``IPython.display.display``.

The README was written for transformers 4; three of its lines fail under transformers 5 with
bertviz too. ``run_readme`` applies the transformers-5 spelling of each (``TRANSFORMERS_5``,
shown and explained below) besides the import; ``test_readme_verbatim_...`` shows what the
unchanged ``outputs[-1]`` gives: an error that says what to write instead.
"""

from __future__ import annotations

import warnings

import IPython.display
import numpy as np
import pytest
import torch
import traitlets
import transformers

import bos_widget
from bos_widget import AttentionWidget, head_view, model_view
from bos_widget.transport import codec
from bos_widget.views.compat import _as_html
from bos_widget.views.seq2seq import Seq2SeqView

from . import tiny

# ---- bertviz's README (bertviz 1.4.1), verbatim --------------------------------------------
README_QUICKSTART = """
from transformers import AutoTokenizer, AutoModel, utils
from bertviz import model_view
utils.logging.set_verbosity_error()  # Suppress standard warnings

model_name = "microsoft/xtremedistil-l12-h384-uncased"  # Find popular HuggingFace models here: https://huggingface.co/models
input_text = "The cat sat on the mat"
model = AutoModel.from_pretrained(model_name, output_attentions=True)  # Configure model to return attention values
tokenizer = AutoTokenizer.from_pretrained(model_name)
inputs = tokenizer.encode(input_text, return_tensors='pt')  # Tokenize input text
outputs = model(inputs)  # Run model
attention = outputs[-1]  # Retrieve attention from model outputs
tokens = tokenizer.convert_ids_to_tokens(inputs[0])  # Convert input ids to token strings
model_view(attention, tokens)  # Display model view
"""  # noqa: E501

README_HEAD_VIEW = """
from transformers import AutoTokenizer, AutoModel, utils
utils.logging.set_verbosity_error()  # Suppress standard warnings
tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
model = AutoModel.from_pretrained("bert-base-uncased", output_attentions=True)
inputs = tokenizer.encode("The cat sat on the mat", return_tensors='pt')
outputs = model(inputs)
attention = outputs[-1]  # Output includes attention weights when output_attentions=True
tokens = tokenizer.convert_ids_to_tokens(inputs[0])
from bertviz import head_view
head_view(attention, tokens)
"""

README_ENCODER_DECODER = """
from transformers import AutoTokenizer, AutoModel

tokenizer = AutoTokenizer.from_pretrained("Helsinki-NLP/opus-mt-en-de")
model = AutoModel.from_pretrained("Helsinki-NLP/opus-mt-en-de", output_attentions=True)
encoder_input_ids = tokenizer("She sees the small elephant.", return_tensors="pt", add_special_tokens=True).input_ids
with tokenizer.as_target_tokenizer():
    decoder_input_ids = tokenizer("Sie sieht den kleinen Elefanten.", return_tensors="pt", add_special_tokens=True).input_ids

outputs = model(input_ids=encoder_input_ids, decoder_input_ids=decoder_input_ids)

encoder_text = tokenizer.convert_ids_to_tokens(encoder_input_ids[0])
decoder_text = tokenizer.convert_ids_to_tokens(decoder_input_ids[0])
from bertviz import model_view
model_view(
    encoder_attention=outputs.encoder_attentions,
    decoder_attention=outputs.decoder_attentions,
    cross_attention=outputs.cross_attentions,
    encoder_tokens= encoder_text,
    decoder_tokens = decoder_text
)
"""  # noqa: E501

README_OPTIONS = """
from bertviz import head_view, model_view
model_view(attention, tokens, display_mode="light")
model_view(attention, tokens, include_layers=[5, 6])
head_view(attention, tokens, layer=2, heads=[3,5])
"""

README_SENTENCE_PAIR = """
from bertviz import head_view
from transformers import AutoTokenizer, AutoModel, utils
utils.logging.set_verbosity_error()  # Suppress standard warnings

# NOTE: This code is model-specific
model_version = 'bert-base-uncased'
model = AutoModel.from_pretrained(model_version, output_attentions=True)
tokenizer = AutoTokenizer.from_pretrained(model_version)
sentence_a = "the rabbit quickly hopped"
sentence_b = "The turtle slowly crawled"
inputs = tokenizer.encode_plus(sentence_a, sentence_b, return_tensors='pt')
input_ids = inputs['input_ids']
token_type_ids = inputs['token_type_ids'] # token type id is 0 for Sentence A and 1 for Sentence B
attention = model(input_ids, token_type_ids=token_type_ids)[-1]
sentence_b_start = token_type_ids[0].tolist().index(1) # Sentence B starts at first index of token type id 1
token_ids = input_ids[0].tolist() # Batch index 0
tokens = tokenizer.convert_ids_to_tokens(token_ids)
head_view(attention, tokens, sentence_b_start)
"""  # noqa: E501

README_HTML = """
from transformers import AutoTokenizer, AutoModel, utils
from bertviz import head_view

utils.logging.set_verbosity_error()  # Suppress standard warnings
tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
model = AutoModel.from_pretrained("bert-base-uncased", output_attentions=True)

inputs = tokenizer.encode("The cat sat on the mat", return_tensors='pt')
outputs = model(inputs)
attention = outputs[-1]  # Output includes attention weights when output_attentions=True
tokens = tokenizer.convert_ids_to_tokens(inputs[0])

html_head_view = head_view(attention, tokens, html_action='return')

with open("PATH_TO_YOUR_FILE/head_view.html", 'w') as file:
    file.write(html_head_view.data)
"""


# transformers 5 changes, not ours: BertModel's output now ends with an empty cross_attentions
# tuple, so outputs[-1] is no longer the attention; encode_plus and as_target_tokenizer are gone.
TRANSFORMERS_5 = {
    "outputs[-1]": "outputs.attentions",
    "token_type_ids=token_type_ids)[-1]": "token_type_ids=token_type_ids).attentions",
    "tokenizer.encode_plus(": "tokenizer(",
    "with tokenizer.as_target_tokenizer():": "if True:  # text_target= in transformers 5",
}


def run_readme(code: str, ns: dict | None = None, transformers_5: bool = True) -> dict:
    """Run a README example with the import changed (and the transformers-5 spellings)."""
    ours = code.replace("from bertviz import", "from bos_widget import")
    assert "bertviz" not in ours
    for old, new in TRANSFORMERS_5.items() if transformers_5 else ():
        ours = ours.replace(old, new)
    ns = {} if ns is None else ns
    exec(compile(ours, "<bertviz README>", "exec"), ns)
    return ns


# ---- offline stand-ins for the hub ---------------------------------------------------------
BERT_LIKE = ("microsoft/xtremedistil-l12-h384-uncased", "bert-base-uncased")


@pytest.fixture
def shown(monkeypatch):
    """Every object the examples display, in order."""
    out: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_: out.extend(objs))
    return out


def install_hub(monkeypatch, seq2seq=tiny.bart) -> None:
    """``from_pretrained`` stand-ins: BERT for the BERT ids, ``seq2seq`` for MarianMT's."""

    def model(name, output_attentions=False, **_):
        m = tiny.bert(layers=12, heads=12) if name in BERT_LIKE else seq2seq()
        if output_attentions:  # set in the config before the model is built, as from_pretrained
            config = m.config
            config._attn_implementation = "eager"
            config.output_attentions = True
            torch.manual_seed(0)
            m = type(m)(config).eval()
        return m

    def tokenizer(name, **_):
        return tiny.tokenizer(lowercase=True, token_type_ids=name in BERT_LIKE)

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", tokenizer)


@pytest.fixture
def bert_hub(monkeypatch):
    install_hub(monkeypatch)


def _same_attention(widget: AttentionWidget, attention) -> None:
    expected = np.stack([a[0].detach().numpy() for a in attention])
    np.testing.assert_allclose(widget.run.attention.astype(np.float32), expected, atol=1e-3)


# ---- the README examples -------------------------------------------------------------------
def test_quickstart_model_view_shows_our_widget(bert_hub, shown):
    ns = run_readme(README_QUICKSTART)
    assert ns["model_view"] is bos_widget.model_view
    assert len(shown) == 1 and isinstance(shown[0], AttentionWidget)
    w = shown[0]
    assert w.tokens == ["<bos>", "the", "cat", "sat", "on", "the", "mat"]
    assert (w.meta["n_layers"], w.meta["n_heads"], w.meta["T"]) == (12, 12, 7)
    assert (w.layer, w.head, w.segment, w.theme, w.label) == (0, -1, "all", "auto", "")
    assert w.meta["bos_added"] is True and w.meta["causal"] is False
    assert w.meta["segment_b_start"] is None
    _same_attention(w, ns["attention"])


def test_readme_verbatim_outputs_minus_one_says_what_to_pass(bert_hub, shown):
    with pytest.raises(ValueError, match=r"outputs\[-1\].*cross_attentions.*outputs\.attentions"):
        run_readme(README_QUICKSTART, transformers_5=False)
    assert shown == []


def test_head_view_section(bert_hub, shown):
    ns = run_readme(README_HEAD_VIEW)
    (w,) = shown
    assert isinstance(w, AttentionWidget) and w.meta["model"] == "head_view input"
    _same_attention(w, ns["attention"])


def test_options_display_mode_include_layers_and_default_heads(bert_hub, shown):
    ns = run_readme(README_HEAD_VIEW)
    shown.clear()
    with pytest.warns(UserWarning, match=r"one head at a time.*showing head 3 of \[3, 5\]"):
        run_readme(README_OPTIONS, ns)
    light, layers56, preset = shown
    assert light.theme == "light"
    # include_layers=[5, 6]: only those two are offered, under their own numbers in the label
    assert layers56.meta["n_layers"] == 2 and layers56.meta["layer_ids"] == [5, 6]
    assert layers56.label == "layers [5, 6] of 12 shown as 0–1"
    att = np.stack([a[0].detach().numpy() for a in ns["attention"]])
    np.testing.assert_allclose(layers56.run.attention.astype(np.float32), att[[5, 6]], atol=1e-3)
    # layer=2, heads=[3, 5]: opens on layer 2, head 3; every layer and head is still offered
    assert (preset.layer, preset.head) == (2, 3)
    assert preset.meta["n_layers"] == 12 and preset.meta["n_heads"] == 12


def test_sentence_pair_enables_the_segment_filter(bert_hub, shown):
    ns = run_readme(README_SENTENCE_PAIR)
    (w,) = shown
    b = ns["sentence_b_start"]
    # <bos> the rabbit quickly hopped <eos> | the turtle slowly crawled (unknown words: <unk>)
    assert b == 6 and w.meta["segment_b_start"] == 6
    assert w.tokens[:2] == ["<bos>", "the"] and w.tokens[5:7] == ["<eos>", "the"]
    assert w.segment == "all"
    for value in ("A→A", "A→B", "B→A", "B→B", "all"):
        w.segment = value
        assert w.segment == value
    w.segment = "B -> A"  # the ASCII spelling is accepted
    assert w.segment == "B→A"
    with pytest.raises(traitlets.TraitError, match="segment must be one of"):
        w.segment = "A→C"
    assert w.segment == "B→A"


@pytest.mark.parametrize("family", [tiny.bart, tiny.t5], ids=["bart", "t5"])
def test_encoder_decoder_model_view_switches_between_the_three(monkeypatch, shown, family):
    install_hub(monkeypatch, family)
    ns = run_readme(README_ENCODER_DECODER)
    (view,) = shown
    assert isinstance(view, Seq2SeqView)
    assert view.parts == ("encoder", "decoder", "cross") and view.part == "encoder"
    enc, dec = view.encoder, view.decoder
    assert enc is not None and dec is not None
    assert enc.tokens == ns["encoder_text"] and dec.tokens == ns["decoder_text"]
    assert enc.meta["causal"] is False and dec.meta["causal"] is True
    _same_attention(enc, ns["outputs"].encoder_attentions)
    _same_attention(dec, ns["outputs"].decoder_attentions)
    assert view.children[1] is enc
    view.part = "decoder"
    assert view.children[1] is dec
    view.part = "cross"
    cross = view.cross_attention
    assert cross is not None and view.cross is not None
    t_dec, t_enc = len(ns["decoder_text"]), len(ns["encoder_text"])
    assert cross.shape == (dec.meta["n_layers"], dec.meta["n_heads"], t_dec, t_enc)
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=2e-3)  # kept in float16
    assert view.children[1] is view.current is view.cross
    # the cross part is an interactive widget: encoder keys are its tokens, decoder queries
    # its rows, and a slice it serves is the [T_dec, T_enc] map of the layer and head asked for
    w = view.cross
    assert w.tokens == ns["encoder_text"] and w.meta["query_tokens"] == ns["decoder_text"]
    assert w.meta["role"] == "cross" and w.meta["causal"] is False
    reply, buffers = w._server.reply(1, 2)
    np.testing.assert_allclose(codec.decode(buffers[0]), cross[1, 2], atol=reply["error_bound"])
    w.layer, w.head = 1, 2
    with pytest.raises(traitlets.TraitError, match="head must be between 0 and 3"):
        w.head = 4
    with pytest.raises(traitlets.TraitError, match="part must be one of"):
        view.part = "both"


def test_html_action_return_gives_a_standalone_page(bert_hub, tmp_path, monkeypatch, shown):
    if not hasattr(AttentionWidget, "to_html"):
        pytest.skip("this build has no AttentionWidget.to_html export")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "PATH_TO_YOUR_FILE").mkdir()
    ns = run_readme(README_HTML)
    assert shown == []  # 'return' displays nothing
    page = (tmp_path / "PATH_TO_YOUR_FILE" / "head_view.html").read_text()
    assert page == ns["html_head_view"].data
    assert page.lower().startswith("<!doctype html>")
    assert "require.js" not in page and "cdnjs" not in page  # nothing is fetched


# ---- our own semantics and errors ----------------------------------------------------------
def _pair_attention(T=8, layers=2, heads=4, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((layers, 1, heads, T, T)).astype(np.float32)
    return [x / x.sum(-1, keepdims=True) for x in a]


TOKENS = ["[CLS]", "Ġthe", "▁cat", "sat</w>", "[SEP]", "a", "dog", "[SEP]"]


def test_prettify_tokens_like_bertviz(shown):
    head_view(_pair_attention(), TOKENS)
    head_view(_pair_attention(), TOKENS, prettify_tokens=False)
    pretty, raw = shown
    assert pretty.tokens[:4] == ["[CLS]", " the", " cat", "sat"]
    assert raw.tokens == TOKENS
    assert pretty.meta["bos_added"] is True  # [CLS] looks like a special token


def test_include_heads_and_the_default_head(shown):
    model_view(_pair_attention(), TOKENS, include_heads=[1, 3], include_layers=[1])
    head_view(_pair_attention(), TOKENS, heads=[2])
    head_view(_pair_attention(), TOKENS, heads=[0, 1, 2, 3])  # all heads: their mean
    head_view(_pair_attention(), TOKENS, include_heads=[3, 1], heads=[1, 3])  # in any order
    sub, one, every, reordered = shown
    assert reordered.meta["head_ids"] == [3, 1] and reordered.head == -1
    assert sub.meta["head_ids"] == [1, 3] and sub.meta["layer_ids"] == [1]
    assert sub.run.attention.shape == (1, 2, 8, 8) and sub.meta["n_kv_heads"] == 2
    assert sub.label == "layers [1] of 2 shown as 0; heads [1, 3] of 4 shown as 0–1"
    np.testing.assert_allclose(
        sub.run.attention[0].astype(np.float32), _pair_attention()[1][0, [1, 3]], atol=1e-3
    )
    assert one.head == 2 and every.head == -1


def test_segment_needs_a_sentence_pair(shown):
    head_view(_pair_attention(), TOKENS)
    (w,) = shown
    with pytest.raises(traitlets.TraitError, match="need a sentence pair"):
        w.segment = "A→B"
    assert w.segment == "all"


def test_theme_is_validated(shown):
    head_view(_pair_attention(), TOKENS, display_mode="dark")
    (w,) = shown
    assert w.theme == "dark"
    w.theme = "auto"
    with pytest.raises(traitlets.TraitError, match="theme must be one of"):
        w.theme = "sepia"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"colour": "red"}, TypeError, "unexpected keyword argument 'colour'"),
        ({"html_action": "save"}, ValueError, "html_action must be 'view' or 'return'"),
        ({"display_mode": "sepia"}, ValueError, "display_mode must be"),
        ({"sentence_b_start": 8}, ValueError, "between 1 and 7"),
        ({"sentence_b_start": 0}, ValueError, "between 1 and 7"),
        ({"layer": 1, "include_layers": [0]}, ValueError, r"layer 1 is not among .*\[0\]"),
        (
            {"include_layers": [2]},
            ValueError,
            "include_layers must be a non-empty subset of \\[0, 1\\], got \\[2\\]",
        ),
        ({"heads": [4]}, ValueError, r"heads \[4\] are not among"),
        ({"encoder_tokens": ["a"]}, ValueError, "not both"),
        ({"tokens": TOKENS[:5]}, ValueError, "8 positions but 5 tokens"),
        ({"tokens": None}, ValueError, "needs tokens"),
    ],
)
def test_bad_arguments_are_refused_with_a_sentence(shown, kwargs, error, match):
    args = {"attention": _pair_attention(), "tokens": TOKENS, **kwargs}
    with pytest.raises(error, match=match):
        head_view(**args)
    assert shown == []


def test_no_attention_at_all_is_refused():
    with pytest.raises(ValueError, match="model_view needs attention"):
        model_view()


def test_attention_none_says_to_ask_for_attention():
    with pytest.raises(ValueError, match=r"attention is None.*output_attentions=True"):
        head_view(None, TOKENS)


def test_encoder_decoder_needs_its_tokens():
    with pytest.raises(ValueError, match="decoder_tokens is required"):
        head_view(decoder_attention=_pair_attention())


def test_decoder_only_encoder_decoder_call_offers_one_part(shown):
    head_view(decoder_attention=_pair_attention(), decoder_tokens=TOKENS)
    (view,) = shown
    assert view.parts == ("decoder",) and view.part == "decoder"
    assert view.children[0].layout.display == "none"  # no switch for a single part


def test_cross_part_keeps_token_text_as_data_and_scores_keys_over_decoder_queries(shown, tmp_path):
    enc = ["<s>", "<img src=x onerror=alert(1)>", "b"]
    dec = ["<s>", "x"]
    cross = [np.array([[[[0.8, 0.15, 0.05], [0.6, 0.3, 0.1]]]], dtype=np.float32)]
    model_view(cross_attention=cross, encoder_tokens=enc, decoder_tokens=dec)
    (view,) = shown
    assert view.parts == ("cross",) and view.cross is not None
    w = view.cross
    assert w.tokens == enc and w.meta["query_tokens"] == dec  # text as given, never markup
    assert w.sink_grid == [[0.7]]  # alpha of key 0: (0.8 + 0.6) / 2 over the decoder queries
    w.threshold = 0.5
    w.save_image(tmp_path / "cross.svg")
    svg = (tmp_path / "cross.svg").read_text()
    assert "<img" not in svg and "&lt;img␣src=x␣on…" in svg  # key label, escaped and shortened
    assert "α = 0.70 over 2 queries" in svg  # the sink key, scored over the 2 decoder queries


def test_return_without_an_exporter_gives_the_object_back():
    class NoExport:
        pass

    obj = NoExport()
    assert _as_html(obj) is obj


def test_head_view_view_returns_none_like_bertviz(shown):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert head_view(_pair_attention(), TOKENS, 5) is None
    (w,) = shown
    assert w.meta["segment_b_start"] == 5


def test_seq2seq_view_of_a_capture_keeps_the_three_parts():
    run = bos_widget.capture(tiny.t5(), tiny.tokenizer(), "the cat sat", decoder_text="a dog ran")
    view = Seq2SeqView.from_run(run, threshold=0.5)
    assert view.parts == ("encoder", "decoder", "cross")
    assert view.encoder is not None and view.encoder.run is run
    assert view.decoder is not None and view.decoder.run is run.decoder
    assert view.decoder.threshold == 0.5 and view.decoder.meta["role"] == "decoder"
    assert view.cross_attention is not None and run.decoder is not None
    assert view.cross_attention.shape == run.decoder.cross_attention.shape  # [3, 4, 4, 4]
    assert view.cross is not None and view.cross.run is run.decoder.cross
    assert view.cross.threshold == 0.5
    with pytest.raises(ValueError, match="no decoder run"):
        Seq2SeqView.from_run(view.encoder.run.decoder)


def test_a_captured_sentence_pair_offers_the_filter_too():
    tok = tiny.tokenizer()
    w = AttentionWidget.from_model(tiny.bert(), tok, "the cat sat", text_pair="a dog ran")
    assert w.meta["segment_b_start"] == 5  # <bos> the cat sat <eos> | a dog ran
    w.segment = "B→A"
    assert w.segment == "B→A"
    single = AttentionWidget.from_model(tiny.bert(), tok, "the cat sat")
    with pytest.raises(traitlets.TraitError, match="need a sentence pair"):
        single.segment = "A→A"
