"""Codec layer (requests): the one owner of what a view, an export or a script may ask for.

A request names a layer, a head (``MEAN_HEAD`` = -1 for the mean of heads) and a weighting.
:func:`check_request` says, in a sentence, what does not fit the run; the widget's trait
validators, the slice server (and so every message from the front end), exports and figures
all call it, so a rule and its wording live here once. :func:`check_index` is the part that
needs only the run's shape (``AttentionRun.slice`` calls it). :func:`pick` validates a list of
layers or heads chosen for an export or a bertviz-style view. Pure Python: no numpy arrays
are read, no torch, no ipywidgets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

MEAN_HEAD = -1
WEIGHTINGS = ("raw", "norm")


class Shaped(Protocol):
    """What the checks read of a run (an :class:`~bos_widget.run.AttentionRun`); a protocol,
    so that ``run`` can import this module without a circle."""

    @property
    def n_layers(self) -> int: ...
    @property
    def n_heads(self) -> int: ...
    @property
    def summary(self) -> Any: ...  # a Summary (with .left_out) or None
    @property
    def output_norms(self) -> Any: ...  # an array or None


def check_index(
    n_layers: int, n_heads: int, layer: int | None = None, head: int | None = None
) -> None:
    """Raise ``ValueError`` (a sentence) unless ``0 <= layer < n_layers`` and ``head`` is a
    head index or ``MEAN_HEAD``; an argument left ``None`` is not checked."""
    if layer is not None and not 0 <= layer < n_layers:
        raise ValueError(f"layer must be between 0 and {n_layers - 1}, got {layer}.")
    if head is not None and not (head == MEAN_HEAD or 0 <= head < n_heads):
        raise ValueError(
            f"head must be between 0 and {n_heads - 1}, or -1 for the mean of heads, got {head}."
        )


def weightings(run: Shaped) -> list[str]:
    """Weightings ``run`` can serve: ``norm`` needs the captured value norms and, in summary
    mode, is not offered (only raw head means were kept)."""
    if run.summary is not None or run.output_norms is None:
        return ["raw"]
    return list(WEIGHTINGS)


def check_request(
    run: Shaped,
    layer: int | None = None,
    head: int | None = None,
    weighting: str | None = None,
) -> None:
    """Raise ``ValueError`` with a sentence a user can act on when a request does not fit
    ``run``; an argument left ``None`` is not checked.

    Parameters
    ----------
    run : AttentionRun
    layer : int, optional
        ``0 <= layer < run.n_layers``.
    head : int, optional
        ``0 <= head < run.n_heads`` or ``MEAN_HEAD``; only ``MEAN_HEAD`` in summary mode.
    weighting : str, optional
        One of :func:`weightings` of ``run``.
    """
    check_index(run.n_layers, run.n_heads, layer, head)
    if head is not None and head != MEAN_HEAD and run.summary is not None:
        raise ValueError(
            f"{run.summary.left_out} Single heads can't be shown. Only head=-1 (the mean of "
            "heads) can; capture fewer tokens (max_tokens=...) to see each head."
        )
    if weighting is not None:
        options = weightings(run)
        if weighting not in options:
            why = " (this run has no value norms)" if weighting == "norm" else ""
            raise ValueError(f"weighting must be one of {options}, got {weighting!r}{why}.")


def pick(name: str, given: Iterable[int] | None, options: Sequence[int]) -> list[int]:
    """The layers or heads ``given`` (all ``options`` when ``None``), each once, in the order
    given; raises ``ValueError`` (a sentence) on an empty list, a non-integer (bools
    included) or an index outside ``options``."""
    if given is None:
        return list(options)
    picked: list[int] = []
    items = list(given)
    for v in items:
        if isinstance(v, bool) or not hasattr(v, "__index__") or int(v) not in options:
            break
        if int(v) not in picked:
            picked.append(int(v))
    else:
        if picked:
            return picked
    shown = [int(v) if hasattr(v, "__index__") and not isinstance(v, bool) else v for v in items]
    raise ValueError(f"{name} must be a non-empty subset of {list(options)}, got {shown!r}.")
