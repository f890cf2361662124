"""Experiments layer: diagnostics of ``shared/SCIENCE.md`` that re-run the model.

Each function takes a model and its tokenizer and returns a pandas DataFrame whose columns
``model``, ``T`` and ``bos_added`` (and ``df.attrs["setting"]``) say where its numbers came
from. Hooks are scoped to one call, passes run under ``torch.inference_mode()``, and the
model's attention implementation is restored afterwards.

* D6 :func:`bos_invariance`, D7 :func:`sink_output` (``invariance``)
* D8 :func:`ablate_first_token`, :func:`first_key_mask`, :func:`zero_first_value`,
  :func:`remove_sink_output`
  (``ablations``)
* D9 :func:`relocation`, :func:`relocation_variants`; D2 under the published protocol,
  :func:`gu_sink_rate` (``relocation``)
"""

from .ablations import (
    ABLATIONS,
    ablate_first_token,
    first_key_mask,
    remove_sink_output,
    zero_first_value,
)
from .invariance import bos_invariance, sink_output
from .relocation import GU_PROTOCOL, Variant, gu_sink_rate, relocation, relocation_variants

__all__ = [
    "ABLATIONS",
    "GU_PROTOCOL",
    "Variant",
    "ablate_first_token",
    "bos_invariance",
    "first_key_mask",
    "gu_sink_rate",
    "relocation",
    "relocation_variants",
    "remove_sink_output",
    "sink_output",
    "zero_first_value",
]
