"""Analysis layer (explain, helper): tokenised batches and the forward passes explain() runs.

Every text is tokenised as the model's tokenizer does (special tokens included) and cut to
exactly ``T`` tokens, so a batch needs no padding. Passes run under ``torch.inference_mode()``
through the probe (:mod:`.probe`); the residual stream is read with scoped forward hooks on
the model's blocks (the last block's output *before* any final norm), and the input
embeddings can be perturbed the same way. Hooks are removed in ``finally``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from ..capture.driver import bos_added_by_tokenizer, check_text
from ..capture.hooks import ScopedHooks, find_attention_sites


@dataclass(frozen=True)
class Batch:
    """Token ids ``[B, T]`` of texts ``index`` (positions in the corpus)."""

    ids: torch.Tensor
    index: tuple[int, ...]


def tokenize_corpus(
    model: Any, tokenizer: Any, texts: Sequence[str], T: int
) -> tuple[torch.Tensor, bool]:
    """Ids ``[n, T]`` of every text cut to exactly ``T`` tokens, and whether a BOS was added.

    Raises
    ------
    ValueError
        Naming the texts shorter than ``T`` tokens.
    """
    rows, short, bos = [], [], False
    for i, text in enumerate(texts):
        ids = tokenizer(check_text(text, f"texts[{i}]"), truncation=True, max_length=T)["input_ids"]
        if len(ids) < T:
            short.append(f"texts[{i}] ({len(ids)} tokens)")
        rows.append(list(ids)[:T])
        bos = bos or bos_added_by_tokenizer(tokenizer, list(ids), text)
    if short:
        raise ValueError(
            f"explain() compares texts at one length, T={T} tokens, but "
            f"{len(short)} text(s) are shorter: {', '.join(short[:5])}. Pass longer texts "
            "or a smaller T (and report it: sink scores have a 1/T floor)."
        )
    vocab = model.get_input_embeddings().num_embeddings
    ids = torch.tensor(rows, dtype=torch.long)
    if int(ids.max()) >= vocab:
        raise ValueError(
            "The tokenizer produced ids outside the model's vocabulary: it does not belong "
            "to this model. Load both from the same checkpoint."
        )
    return ids, bos


def blocks(model: nn.Module) -> list[nn.Module]:
    """The model's transformer blocks in order (the ModuleList holding its attention)."""
    attention = {id(s.module) for s in find_attention_sites(model) if s.group == "self"}
    best: list[nn.Module] = []
    for module in model.modules():
        if isinstance(module, nn.ModuleList):
            hits = [b for b in module if any(id(m) in attention for m in b.modules())]
            if len(hits) == len(module) and len(hits) > len(best):
                best = list(module)
    if not best:
        raise TypeError(f"Cannot find the transformer blocks of {type(model).__name__}.")
    return best


def _first(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


@contextmanager
def residual(
    model: nn.Module,
    record: list[torch.Tensor] | None = None,
    edit_layer: int | None = None,
    edit: Any = None,
    perturb: Any = None,
) -> Iterator[None]:
    """Scoped hooks on the residual stream.

    ``record`` receives ``L + 1`` float32 CPU tensors ``[B, T, hidden]``: the input of block 0,
    then each block's output (the last one before any final norm). ``edit(h)`` rewrites the
    output of block ``edit_layer`` in place; ``perturb(e)`` rewrites the input embeddings.
    """
    stack = blocks(model)

    def keep(h: torch.Tensor) -> None:
        if record is not None:
            record.append(h.detach().float().cpu())

    def pre(module: nn.Module, args: Any, kwargs: Any) -> None:
        h = args[0] if args else kwargs.get("hidden_states")
        if isinstance(h, torch.Tensor):
            keep(h)

    def post(i: int) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            h = _first(output)
            if edit is not None and i == edit_layer:
                edit(h)
            keep(h)

        return hook

    def embed(module: nn.Module, args: Any, output: Any) -> Any:
        return perturb(output.clone())

    with ScopedHooks() as hooks:
        hooks.forward_pre(stack[0], pre, with_kwargs=True)
        for i, block in enumerate(stack):
            hooks.forward(block, post(i))
        if perturb is not None:
            embeddings: Any = getattr(model, "get_input_embeddings")()  # noqa: B009 - typed loosely
            hooks.forward(embeddings, embed)
        yield


def forward(model: Any, ids: torch.Tensor, keep: int | None) -> torch.Tensor | None:
    """Run ``model`` on ``ids``; return the logits of the last ``keep`` positions (LMs only)."""
    kwargs: dict[str, Any] = {"input_ids": ids.to(model.device)}
    params = inspect.signature(model.forward).parameters
    if "use_cache" in params:
        kwargs["use_cache"] = False
    if "logits_to_keep" in params:  # no logits wanted: the LM head runs on one position only
        kwargs["logits_to_keep"] = keep or 1
    with torch.inference_mode():
        out = model(**kwargs)
    logits = getattr(out, "logits", None)
    if logits is None or keep is None:
        return None
    return logits[:, -keep:].float()


def has_lm_head(model: Any) -> bool:
    """True for models whose forward returns next-token logits (a causal LM head)."""
    return model.get_output_embeddings() is not None and not getattr(
        model.config, "is_encoder_decoder", False
    )


def token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss per text: ``logits`` ``[B, n, V]`` predict ``targets`` ``[B, n]``.

    Computed in float64 one text at a time, so a large vocabulary needs one text's copy only.
    """
    out = []
    for row, tgt in zip(logits, targets.to(logits.device), strict=True):
        logp = functional.log_softmax(row.double(), dim=-1)
        out.append(-logp.gather(-1, tgt[:, None])[:, 0].mean())
    return torch.stack(out)


def kl(base: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """Mean KL(base || other) per text over positions, ``[B, n, V]`` logits -> ``[B]``."""
    out = []
    for a, b in zip(base, other, strict=True):
        p = functional.log_softmax(a.double(), dim=-1)
        q = functional.log_softmax(b.double(), dim=-1)
        out.append((p.exp() * (p - q)).sum(-1).mean())
    return torch.stack(out)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy().astype(np.float64)
