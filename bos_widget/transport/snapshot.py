"""Codec layer (serving): one slice as base64 JSON, for the saved-state ``snapshot`` trait and
the exported page.

:func:`snapshot` is what the widget's small ``snapshot`` trait holds: the current slice reply
and its bytes as base64, so that a notebook saved with its widget state draws the view again
without a kernel. :func:`embedded` is the same shape for any slice (the exported page of
:mod:`bos_widget.export` holds one per ``(layer, head, weighting)``). Reads a
:class:`~bos_widget.transport.slices.SliceServer`; no torch, no ipywidgets.
"""

from __future__ import annotations

import base64
from typing import TypedDict

from . import codec
from .slices import SliceServer

SNAPSHOT_MAX_BYTES = 128 * 1024  # cap of the snapshot trait's slice (before base64)


class _SnapshotSlot(TypedDict, total=False):  # typing.NotRequired is 3.11+
    slot: str  # runs with learned sinks: the sink slot's column, base64


class Snapshot(_SnapshotSlot):
    """The ``snapshot`` trait: one slice reply and its encoded bytes as base64 (and, for runs
    with learned sinks, the sink slot's column as ``slot``)."""

    reply: codec.SliceReply
    data: str


def snapshot(server: SliceServer, layer: int, head: int, weighting: str) -> Snapshot | None:
    """The current slice as a :class:`Snapshot`, or ``None`` when it is larger than
    ``SNAPSHOT_MAX_BYTES`` in both float16 and uint8 (T above about 360 for causal runs,
    250 otherwise) or the request is invalid. Bounded so that notebook state and Colab's
    widget payloads stay small."""
    try:
        reply, buffers = server.reply(layer, head, weighting)
    except ValueError:
        return None
    blob = buffers[0]
    if len(blob) > SNAPSHOT_MAX_BYTES and server.encoding == "float16":
        small = SliceServer(server.run, cache_size=1, encoding="uint8")
        reply, buffers = small.reply(layer, head, weighting)
        blob = buffers[0]
    if len(blob) > SNAPSHOT_MAX_BYTES:
        return None
    return embedded(reply, blob, buffers)


def embedded(reply: codec.SliceReply, blob: bytes, buffers: list[bytes]) -> Snapshot:
    """A whole-slice reply with its bytes as base64 (and the sink slot's column, which the
    reply then names buffer 1, for runs with learned sinks)."""
    snap: Snapshot = {"reply": reply, "data": base64.b64encode(blob).decode("ascii")}
    if "sink_slot" in reply:
        snap["slot"] = base64.b64encode(buffers[reply["sink_slot"]]).decode("ascii")
        reply["sink_slot"] = 1  # the page's buffers are [data, slot]
    return snap
