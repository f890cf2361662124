"""Capture layer: model + tokenizer + text -> ``AttentionRun``.

One forward pass under ``torch.inference_mode()``. By default the model runs its own
attention and ``record`` keeps q and k of every layer (slices are rebuilt on demand, sink
scores measured in the same pass); models whose attention cannot be rebuilt from q and k
take the eager path (``eager``), which copies every map. Either way the last block's output
is copied as it leaves the block: transformers' last ``hidden_states`` entry follows the
final norm where a model has one (Llama, GPT-2, T5), which would hide massive activations
(D5) in the last layer by construction.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis import metrics
from ..run import AttentionRun, RunMeta, SinkSummary
from .eager import Recorder, eager_attention
from .factors import Factors
from .generation import generate
from .hooks import AttentionSite, CaptureError, current_implementation, find_attention_sites
from .naming import model_name as display_name
from .outputs_path import capture_outputs
from .record import Recording, recording
from .tokens import bos_added_by_tokenizer, check_text, display_tokens, segment_b_start, tokenize

LAST_BEFORE_NORM = "last block output (before the final norm)"
LAST_BLOCK = "last block output"
LAST_AS_RETURNED = "last hidden state as transformers returns it (after the final norm, if any)"


def _last_blocks(model: nn.Module, sites: list[AttentionSite]) -> dict[str, nn.Module]:
    """group -> the block (the first numbered module on the path) of its last attention site."""
    last = {site.group: site for site in sites if site.group != "cross"}  # sites in layer order
    blocks = {}
    for group, site in last.items():
        parts = site.name.split(".")
        at = next((i for i, p in enumerate(parts) if p.isdigit()), None)
        if at is not None:
            blocks[group] = model.get_submodule(".".join(parts[: at + 1]))
    return blocks


def _with_last_block(hidden: Any, block: torch.Tensor | None) -> tuple[Any, str]:
    """``hidden_states`` with the last block's own output as its last entry, and which it is.

    Where the model has no final norm (BERT) the last entry already is that output.
    """
    if not hidden:
        return hidden, ""
    returned = hidden[-1][0].detach().to("cpu", torch.float32)
    if block is None or block.shape != returned.shape:
        return hidden, LAST_AS_RETURNED
    if torch.equal(returned, block):
        return hidden, LAST_BLOCK
    return (*hidden[:-1], block[None]), LAST_BEFORE_NORM


def _hidden_stats(hidden: tuple[torch.Tensor, ...] | None) -> tuple[np.ndarray, ...] | None:
    """Per layer: ``||h_t||`` ``[L + 1, T]``, ``max_i |h_t,i|`` ``[L + 1, T]``, median ``|h|``."""
    if not hidden:
        return None
    norms, max_abs, median = [], [], []
    for h in hidden:
        x = h[0].float()
        norms.append(x.norm(dim=-1).cpu().numpy())
        max_abs.append(x.abs().amax(dim=-1).cpu().numpy())
        median.append(float(np.median(np.abs(x.cpu().numpy()))))  # partition: faster than a sort
    return np.stack(norms), np.stack(max_abs), np.asarray(median, dtype=np.float32)


def _progress_bar(total: int, enabled: bool | None, tokens: int) -> Any:
    if enabled is None:
        enabled = tokens >= 512
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"Capturing attention (T={tokens})", unit="layer")


# Above this many bytes for the float16 store of every map, keep="auto" on the eager path
# captures a summary. SmolLM2 (30 x 9 heads) keeps every map up to T = 2048 (2.3 GB).
FULL_STORE_LIMIT = 4 * 2**30
# Factor runs also keep every map when they take at most this many bytes (short inputs: the
# maps are then as cheap as the factors, and slices need no recomputation).
SMALL_MAPS_LIMIT = 64 * 2**20
KEEP = ("auto", "all", "summary")
PATHS = ("auto", "factors", "eager")
FACTOR_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def _store_bytes(model: Any, sites: list[AttentionSite], T: int) -> int:
    heads = int(getattr(model.config, "num_attention_heads", 0) or 0)
    layers = sum(1 for s in sites if s.group == "self")
    return 2 * layers * max(heads, 1) * T * T


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _choose_summary(keep: str, model: Any, sites: list[AttentionSite], T: int) -> str | None:
    """The sentence saying what summary mode leaves out, or ``None`` to keep every map."""
    size = _store_bytes(model, sites, T)
    if keep == "all" or (keep == "auto" and size <= FULL_STORE_LIMIT):
        return None
    if any(s.group != "self" for s in sites):
        raise ValueError(
            f"Summary mode covers decoder-only and encoder models; {type(model).__name__} is an "
            "encoder-decoder model. Pass max_tokens=... to capture fewer tokens."
        )
    return (
        f"Summary mode (T={T}): every head's attention map would take {_size(size)}, so "
        "only the mean of heads per layer and every head's sink scores were kept."
    )


@dataclass
class _Group:
    """One group's capture, whichever path produced it."""

    attention: np.ndarray | None
    value_norms: np.ndarray | None = None
    key_norms: np.ndarray | None = None
    output_norms: np.ndarray | None = None
    head_mean: np.ndarray | None = None
    summary: SinkSummary | None = None
    measured: SinkSummary | None = None
    factors: Factors | None = None
    causal: bool | None = None
    sink_slot: np.ndarray | None = None


def _eager_groups(rec: Recorder, left_out: str | None) -> dict[str, _Group]:
    groups = {}
    for name, store in rec.groups.items():
        sm = store.summary
        summary = None
        if sm is not None and sm.sink_scores is not None:
            summary = SinkSummary(sm.sink_scores, sm.norm_first, sm.norm_share0, left_out or "")
        elif store.attention is None:
            continue
        groups[name] = _Group(
            attention=store.attention,
            value_norms=store.value_norms,
            key_norms=store.key_norms,
            output_norms=store.output_norms,
            head_mean=store.head_mean,
            summary=summary,
            causal=bool(sm.causal) if sm is not None else None,
            sink_slot=store.sink_slot,
        )
    return groups


def _factor_groups(rec: Recording) -> dict[str, _Group]:
    groups = {}
    for name, g in rec.groups.items():
        if len(g.factors) != g.n_layers:
            continue
        factors = Factors([g.factors[i] for i in range(g.n_layers)])
        scores = g.stack("sink_scores")
        assert scores is not None
        measured = SinkSummary(scores, g.stack("norm_first"), g.stack("norm_share0"))
        groups[name] = _Group(
            attention=g.maps,
            value_norms=g.stack("value_norms"),
            key_norms=g.stack("key_norms"),
            output_norms=g.stack("output_norms"),
            measured=measured,
            factors=factors,
            causal=factors.layers[0].rule.causal,
            sink_slot=_slot_stack(g.sink_slot, factors.shape),
        )
    return groups


def _slot_stack(slots: dict[int, np.ndarray], shape: tuple[int, ...]) -> np.ndarray | None:
    """``p_sink`` float32 ``[L, H, T_q]`` of the layers with learned sink logits (exactly 0 in
    layers without), or ``None`` when no layer has them."""
    if not slots:
        return None
    out = np.zeros(shape[:3], dtype=np.float32)
    for layer, slot in slots.items():
        out[layer] = slot
    return out


def _forward(model: Any, inputs: dict, blocks: dict) -> tuple[Any, Recorder]:
    """The model's forward with only the last-block hooks (the factor path)."""
    last = Recorder([], None, blocks=blocks)
    with last, torch.inference_mode():
        out = model(**inputs, output_hidden_states=True)
    return out, last


def capture(
    model: Any,
    tokenizer: Any,
    text: str,
    text_pair: str | None = None,
    *,
    max_tokens: int | None = None,
    decoder_text: str | None = None,
    model_name: str | None = None,
    progress: bool | None = None,
    keep: str = "auto",
    path: str = "auto",
    device: Any = None,
    factor_dtype: str = "float32",
    max_new_tokens: int | None = None,
    generate_kwargs: dict[str, Any] | None = None,
) -> AttentionRun:
    """Run ``model`` on ``text`` and capture every layer's attention.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Decoder-only, encoder or encoder-decoder model with attention (PyTorch), on any device
        (a model sharded with ``device_map="auto"`` too).
    tokenizer : transformers tokenizer
        The model's own tokenizer.
    text, text_pair : str
        Input text, and an optional second segment (BERT-style sentence pairs).
    max_tokens : int, optional
        Keep only the first ``max_tokens`` tokens (for texts longer than the model allows).
    decoder_text : str, optional
        Encoder-decoder models only: the decoder's input text (default: ``text``).
    model_name : str, optional
        Name to show in figures (default: :func:`bos_widget.capture.naming.model_name`: the hub id,
        or what a local folder says its model is called).
    progress : bool, optional
        Show a progress bar over layers (default: only when T >= 512).
    keep : {"auto", "all", "summary"}
        Factor path: ``"all"`` also keeps every map ``[L, H, T, T]`` (``run.attention``);
        ``"auto"`` keeps them only while they take at most ``SMALL_MAPS_LIMIT`` bytes.
        Eager path: ``"all"`` keeps every map, ``"summary"`` only the mean of heads and the
        sink scores, ``"auto"`` summarises above ``FULL_STORE_LIMIT`` bytes. ``"summary"``
        selects the eager path.
    path : {"auto", "factors", "eager"}
        ``"factors"``: run the model's own attention (sdpa stays sdpa) and record q and k as
        attention uses them; slices are recomputed exactly on demand (``run.slice``), O(T d)
        memory. ``"eager"``: switch the model to eager attention and copy every map.
        ``"auto"`` (default): factors, or eager for models whose attention cannot be rebuilt
        from q and k (``run.meta.path`` and ``run.meta.path_note`` say which and why).
    device : str or torch.device, optional
        Where the factors are kept and slices computed (default: the CPU). Pass
        ``"model"`` to keep them where each layer produced them (e.g. the GPU).
    factor_dtype : {"float32", "float16"}
        float16 halves the factors' memory but rebuilds slices only to about 3e-3.
    max_new_tokens : int, optional
        Causal language models: first let the model continue ``text`` by up to this many
        tokens with its own ``generate`` (greedy by default), then capture prompt + generated
        tokens; ``run.meta.prompt_len`` (``P``) says where the prompt ends. Row ``P + s - 2``
        is the attention of generation step ``s`` (:mod:`bos_widget.capture.generation`).
    generate_kwargs : dict, optional
        Passed to ``model.generate`` (e.g. ``{"do_sample": True, "top_k": 50}``).

    Returns
    -------
    AttentionRun
        For encoder-decoder models the encoder run, with ``.decoder`` holding the decoder
        self-attention and ``.decoder.cross`` the cross-attention run (decoder queries x
        encoder keys, ``query_tokens`` the decoder's tokens, norms of the encoder keys).
    """
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}, got {keep!r}.")
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}.")
    if factor_dtype not in FACTOR_DTYPES:
        raise ValueError(
            f"factor_dtype must be one of {tuple(FACTOR_DTYPES)}, got {factor_dtype!r}."
        )
    text = check_text(text)
    if text_pair is not None:
        text_pair = check_text(text_pair, "text_pair")
    enc = tokenize(tokenizer, model, text, text_pair, max_tokens)
    prompt_len = None
    if max_new_tokens is not None:
        if text_pair is not None:
            raise ValueError("Pass either text_pair or max_new_tokens, not both.")
        enc, prompt_len = generate(model, tokenizer, enc, max_new_tokens, generate_kwargs)
    elif generate_kwargs:
        raise ValueError("generate_kwargs needs max_new_tokens=... (the number of new tokens).")
    try:
        sites, refusal = find_attention_sites(model), None
    except TypeError as exc:  # no recorded attention modules: maybe the outputs hold them
        sites, refusal = [], exc
    is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    inputs: dict[str, Any] = {k: v.to(model.device) for k, v in enc.items()}
    dec_ids: list[int] = []
    if is_seq2seq:
        target = check_text(decoder_text if decoder_text is not None else text, "decoder_text")
        labels = tokenizer(text_target=target, return_tensors="pt")["input_ids"]
        if hasattr(model, "prepare_decoder_input_ids_from_labels"):
            dec = model.prepare_decoder_input_ids_from_labels(labels=labels)
        else:
            start = model.config.decoder_start_token_id
            dec = torch.cat([torch.full((1, 1), start), labels[:, :-1]], dim=1)
        inputs["decoder_input_ids"] = dec.to(model.device)
        dec_ids = dec[0].tolist()
    params = inspect.signature(model.forward).parameters
    if "logits_to_keep" in params:
        inputs["logits_to_keep"] = 1  # the LM head over all positions is not needed
    if "use_cache" in params:
        inputs["use_cache"] = False
    ids = enc["input_ids"][0].tolist()
    if refusal is not None and (is_seq2seq or path == "factors"):
        raise refusal
    blocks = _last_blocks(model, sites)
    before = current_implementation(model)
    groups: dict[str, _Group] = {}
    note = ""
    out: Any = None
    last = Recorder([], None)
    T_max = max(len(ids), len(dec_ids))
    if is_seq2seq and _store_bytes(model, sites, T_max) > FULL_STORE_LIMIT:
        raise ValueError(
            f"{type(model).__name__} is an encoder-decoder model, whose views need every map, "
            f"and those would take {_size(_store_bytes(model, sites, T_max))}. Pass "
            "max_tokens=... to capture fewer tokens."
        )
    if sites and path != "eager" and keep != "summary":
        keep_maps = keep == "all" or _store_bytes(model, sites, T_max) <= SMALL_MAPS_LIMIT
        bar = _progress_bar(len(sites), progress, len(ids))
        try:
            with recording(
                model,
                sites,
                device="cpu" if device is None else (None if device == "model" else device),
                dtype=FACTOR_DTYPES[factor_dtype],
                keep_maps=keep_maps or is_seq2seq,
                progress=bar,
            ) as rec:
                out, last = _forward(model, inputs, blocks)
            note = rec.failed or (
                "" if len(rec.groups) else "no layer called the attention interface"
            )
            groups = {} if note else _factor_groups(rec)
        except TypeError as exc:
            note = str(exc)
        finally:
            if bar is not None:
                bar.close()
        if note and path == "factors":
            raise CaptureError(
                f"{type(model).__name__}'s attention cannot be rebuilt from q and k ({note}); "
                "capture with path='eager' (or 'auto') instead."
            )
    if not sites:
        got = capture_outputs(model, inputs, len(ids))
        if got is None:
            assert refusal is not None
            raise refusal
        groups = {"self": _Group(got.attention, got.value_norms, output_norms=got.output_norms)}
        out, used, note = SimpleNamespace(hidden_states=got.hidden), "outputs", got.note
    elif not groups:
        left_out = _choose_summary(keep, model, sites, len(ids))
        bar = _progress_bar(len(sites), progress, len(ids))
        recorder = Recorder(sites, bar, summary=left_out is not None, blocks=blocks)
        try:
            with eager_attention(model), recorder as last, torch.inference_mode():
                out = model(**inputs, output_hidden_states=True)
        finally:
            if bar is not None:
                bar.close()
        groups = _eager_groups(last, left_out)
        used = "eager"
    else:
        used = "factors"
    name = display_name(model, model_name)
    kv = int(getattr(model.config, "num_key_value_heads", 0) or 0)

    def build(group: str, ids_: list[int], hidden: Any, role: str, **extra: Any) -> AttentionRun:
        g = groups.get(group)
        if g is None:
            raise CaptureError(
                f"No attention was captured from {type(model).__name__} ({group}); "
                "load the model with attn_implementation='eager' and try again."
            )
        toks = display_tokens(tokenizer, ids_)
        hidden, last_hidden = _with_last_block(hidden, last.last_block.get(group))
        stats = _hidden_stats(hidden)
        if role == "cross":  # every decoder query sees every encoder key
            causal = False
        elif g.causal is not None:
            causal = g.causal
        else:
            assert g.attention is not None
            causal = metrics.is_causal(g.attention[0])
        n_heads = (
            g.factors.shape[1]
            if g.factors is not None
            else g.summary.sink_scores.shape[1]
            if g.summary is not None
            else g.attention.shape[1]  # type: ignore[union-attr]
        )
        meta = RunMeta(
            model=str(name),
            model_class=type(model).__name__,
            causal=causal,
            bos_added=bos_added_by_tokenizer(tokenizer, ids_, text)
            if role in ("self", "cross")
            else bool(ids_),
            first_token=toks[0],
            role=role,
            n_kv_heads=kv or int(n_heads),
            attn_implementation=before,
            segment_b_start=segment_b_start(enc) if role == "self" else None,
            last_hidden=last_hidden,
            path=used,
            path_note=note if used in ("eager", "outputs") else "",
            prompt_len=prompt_len if role == "self" else None,
        )
        return AttentionRun(
            tokens=tuple(toks),
            token_ids=tuple(ids_),
            attention=g.attention,
            meta=meta,
            hidden_norms=stats[0] if stats else None,
            hidden_max_abs=stats[1] if stats else None,
            hidden_median_abs=stats[2] if stats else None,
            value_norms=g.value_norms,
            key_norms=g.key_norms,
            output_norms=g.output_norms,
            summary=g.summary,
            head_mean=g.head_mean,
            factors=g.factors,
            measured=g.measured,
            sink_slot=g.sink_slot,
            **extra,
        )

    if not is_seq2seq:
        return build("self", ids, getattr(out, "hidden_states", None), "self")
    cross = groups.get("cross")
    # cross-attention: decoder queries, encoder keys (its norms are the encoder tokens')
    dec_tokens = tuple(display_tokens(tokenizer, dec_ids))
    cross_run = build("cross", ids, None, "cross", query_tokens=dec_tokens) if cross else None
    decoder = build(
        "decoder",
        dec_ids,
        getattr(out, "decoder_hidden_states", None),
        "decoder",
        cross_attention=cross_run.require_attention() if cross_run else None,
        cross=cross_run,
    )
    return build("self", ids, getattr(out, "encoder_hidden_states", None), "self", decoder=decoder)
