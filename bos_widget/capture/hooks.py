"""Capture layer (helper): where a model's attention weights and projections live.

``find_attention_sites`` walks a model and returns, in layer order, every module that emits
attention weights, using the per-class recording table transformers 5 keeps for
``output_attentions`` (``_can_record_outputs``), with each site's key, value and output
projections located by the naming conventions of the GPT-2, Llama, BERT, T5 and BART
families. Nothing here runs the model or keeps tensors.

It also owns the one way the package reaches into a running model, so that the DESIGN.md rule
"hooks are scoped" lives in one place: :class:`ScopedHooks` registers forward (pre-)hooks
inside a ``with`` block and removes every one of them in ``finally`` (also when registering
or the forward raises), and :func:`attention_implementation` switches the model's attention
function (eager, or a function registered with transformers' ``AttentionInterface``) inside
a block and restores the one it had. Capture (``eager``, ``record``, ``outputs_path``), the
experiments and ``explain`` all use these two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn


class CaptureError(RuntimeError):
    """Attention could not be captured from a model; the message says what to do."""


@dataclass
class AttentionSite:
    """One attention module and the projections around it.

    Attributes
    ----------
    name : str
        Dotted module path, e.g. ``"model.layers.3.self_attn"``.
    module : nn.Module
        Module whose output tuple holds the weights ``[B, H, T_q, T_k]`` at ``index``.
    group : str
        ``"self"`` (decoder-only or encoder self-attention), ``"decoder"`` (seq2seq decoder
        self-attention) or ``"cross"``.
    layer : int
        Index of this site within its group.
    k_proj, v_proj, o_proj : nn.Module or None
        Key, value and output projections (``k_proj is v_proj`` for GPT-2's fused ``c_attn``).
    """

    name: str
    module: nn.Module
    index: int
    group: str
    layer: int = 0
    k_proj: nn.Module | None = None
    v_proj: nn.Module | None = None
    o_proj: nn.Module | None = None
    fused_width: int = 0  # GPT-2: width of one of q, k, v inside c_attn's output

    def weights(self, output: Any, advice: str) -> torch.Tensor:
        """The attention weights ``[B, H, T_q, T_k]`` in this module's forward ``output``.

        Raises :class:`CaptureError` (naming the module and ending with ``advice``) when the
        module returned none, as it does under sdpa attention.
        """
        w = output[self.index] if isinstance(output, tuple) else None
        if not isinstance(w, torch.Tensor) or w.dim() != 4:
            kind = type(self.module).__name__
            raise CaptureError(f"{self.name} ({kind}) returned no attention weights. {advice}")
        return w

    def split(self, out: torch.Tensor, which: str) -> torch.Tensor:
        """Return the ``k`` or ``v`` part of a projection output ``[B, T, width]``."""
        if not self.fused_width:
            return out
        w = self.fused_width
        return out[..., w : 2 * w] if which == "k" else out[..., 2 * w : 3 * w]


def _recording_specs(
    model: nn.Module,
) -> list[tuple[str, type | None, str | None, int, str | None]]:
    """(key, target_class, class_name, index, layer_name) for a PreTrainedModel's table."""
    table = getattr(type(model), "_can_record_outputs", None) or {}
    specs = []
    for key, entries in table.items():
        if "attention" not in key:
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, str):
                specs.append((key, None, entry, 1, None))
            elif isinstance(entry, type):
                specs.append((key, entry, None, 1, None))
            else:  # an OutputRecorder
                specs.append(
                    (key, entry.target_class, entry.class_name, entry.index, entry.layer_name)
                )
    return specs


def _matches(spec: tuple, name: str, module: nn.Module) -> bool:
    _, target, class_name, _, layer_name = spec
    hit = (target is not None and isinstance(module, target)) or (
        class_name is not None and name.endswith(class_name)
    )
    if hit and layer_name:
        hit = "." + layer_name.strip(".") + "." in "." + name + "."
    return hit


def _first_attr(module: nn.Module, names: tuple[str, ...]) -> nn.Module | None:
    for n in names:
        child = getattr(module, n, None)
        if isinstance(child, nn.Module):
            return child
    return None


def _locate_projections(site: AttentionSite, modules: dict[str, nn.Module]) -> None:
    inner = _first_attr(site.module, ("SelfAttention", "EncDecAttention")) or site.module
    fused = getattr(inner, "c_attn", None)
    if isinstance(fused, nn.Module) and hasattr(fused, "nf"):  # GPT-2 Conv1D: q, k, v fused
        site.k_proj = site.v_proj = fused
        site.fused_width = int(getattr(fused, "nf", 0)) // 3
        site.o_proj = _first_attr(inner, ("c_proj",))
        return
    site.k_proj = _first_attr(inner, ("k_proj", "key", "k"))
    site.v_proj = _first_attr(inner, ("v_proj", "value", "v"))
    site.o_proj = _first_attr(inner, ("o_proj", "out_proj", "o", "dense"))
    if site.o_proj is None and "." in site.name:  # BERT: output projection is a sibling
        parent = modules.get(site.name.rsplit(".", 1)[0])
        output = getattr(parent, "output", None)
        site.o_proj = getattr(output, "dense", None) if output is not None else None


def find_attention_sites(model: nn.Module) -> list[AttentionSite]:
    """Every attention-weight-emitting module of ``model``, grouped and in layer order.

    Raises
    ------
    TypeError
        When the model has no attention layers bos_widget knows how to read.
    """
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers is a dependency
        PreTrainedModel = ()  # type: ignore[assignment,misc]
    modules = dict(model.named_modules())
    encoder_ids: set[int] = set()
    if getattr(getattr(model, "config", None), "is_encoder_decoder", False):
        encoder = getattr(model, "get_encoder")()  # noqa: B009 - typed as Tensor | Module
        encoder_ids = {id(m) for m in encoder.modules()}

    sites: list[AttentionSite] = []

    def visit(module: nn.Module, name: str, specs: list) -> None:
        for spec in specs:
            if _matches(spec, name, module):
                key = spec[0]
                group = (
                    "cross"
                    if "cross" in key
                    else ("self" if not encoder_ids or id(module) in encoder_ids else "decoder")
                )
                sites.append(AttentionSite(name, module, int(spec[3]), group))
                return  # a matched module is a leaf for our purposes
        for child_name, child in module.named_children():
            full = f"{name}.{child_name}" if name else child_name
            child_specs = _recording_specs(child) if isinstance(child, PreTrainedModel) else specs
            visit(child, full, child_specs or specs)

    visit(model, "", _recording_specs(model))
    if not sites:
        raise TypeError(
            f"{type(model).__name__} has no attention layers that bos_widget can read "
            "(transformers lists none for output_attentions). Pass a transformer model with "
            "self-attention, such as GPT-2, Llama, BERT, T5 or BART."
        )
    counters: dict[str, int] = {}
    for site in sites:
        site.layer = counters.get(site.group, 0)
        counters[site.group] = site.layer + 1
        _locate_projections(site, modules)
    return sites


def per_query_head(per_kv_head: torch.Tensor, n_heads: int, dim: int = 1) -> torch.Tensor:
    """Expand key/value heads to query heads (grouped-query attention shares each kv head
    among ``n_heads / kv_heads`` consecutive query heads); a no-op without GQA."""
    return per_kv_head.repeat_interleave(n_heads // per_kv_head.shape[dim], dim=dim)


def ov_weights(site: AttentionSite, n_heads: int) -> torch.Tensor:
    """The output projection split per head, ``[H, d, hidden]`` (rows act on ``v_h``)."""
    o = site.o_proj
    if o is None:
        raise ValueError(f"No output projection found next to {site.name}.")
    weight: Any = getattr(o, "weight").detach()  # noqa: B009 - typed as Tensor | Module
    if isinstance(o, nn.Linear):  # y = x W^T: weight [hidden, H*d]
        hidden, width = weight.shape
        return weight.reshape(hidden, n_heads, width // n_heads).permute(1, 2, 0)
    width, hidden = weight.shape  # Conv1D: y = x W, weight [H*d, hidden]
    return weight.reshape(n_heads, width // n_heads, hidden)


_Hooks = TypeVar("_Hooks", bound="ScopedHooks")


class ScopedHooks:
    """Forward hooks that live for one ``with`` block.

    ``with ScopedHooks() as hooks: hooks.forward(module, fn); model(...)`` — every hook
    registered through :meth:`forward` / :meth:`forward_pre` is removed when the block ends,
    also when registering, the forward or the caller raises. Recorders subclass it and
    register their hooks in :meth:`install`, which ``__enter__`` calls (a failure part-way
    removes the hooks already registered).
    """

    def __init__(self) -> None:
        self._handles: list[Any] = []

    def install(self) -> None:
        """Register the hooks of a recorder (subclasses); the base class registers none."""

    def forward(self, module: nn.Module, hook: Callable[..., Any], **kwargs: Any) -> None:
        """``module.register_forward_hook(hook, **kwargs)``, removed on exit."""
        self._handles.append(module.register_forward_hook(hook, **kwargs))

    def forward_pre(self, module: nn.Module, hook: Callable[..., Any], **kwargs: Any) -> None:
        """``module.register_forward_pre_hook(hook, **kwargs)``, removed on exit."""
        self._handles.append(module.register_forward_pre_hook(hook, **kwargs))

    def __len__(self) -> int:
        return len(self._handles)

    def remove(self) -> None:
        """Remove every hook registered so far (idempotent)."""
        while self._handles:
            self._handles.pop().remove()

    def __enter__(self: _Hooks) -> _Hooks:
        try:
            self.install()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def current_implementation(model: Any) -> str:
    """The attention implementation ``model`` runs (``config._attn_implementation``)."""
    return str(getattr(model.config, "_attn_implementation", None) or "eager")


@contextmanager
def attention_implementation(
    model: Any, name: str, refused: Callable[[Exception], Exception] | None = None
) -> Iterator[str]:
    """Run ``model`` with attention implementation ``name`` inside the block; restore the one
    it had in ``finally``. Yields that one.

    Parameters
    ----------
    model : transformers.PreTrainedModel
    name : str
        ``"eager"``, or a name registered with ``AttentionInterface``.
    refused : callable, optional
        When the model cannot switch (no ``set_attn_implementation``, or it raises
        ``AttributeError``, ``KeyError`` or ``ValueError``): the exception to raise instead,
        built from the original. ``None`` runs the model as loaded.
    """
    before = current_implementation(model)
    switch = before != name
    if switch:
        try:
            model.set_attn_implementation(name)
        except (AttributeError, KeyError, ValueError) as exc:
            if refused is not None:
                raise refused(exc) from exc
            switch = False
    try:
        yield before
    finally:
        if switch:
            model.set_attn_implementation(before)
