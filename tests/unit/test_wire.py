"""What a view switch costs the kernel and the wire: the ``snapshot`` trait follows the view
only once it has settled (or when Python sets the view), is never re-encoded once it did not
fit, and the warming thread waits while the view is asking for slices."""

from __future__ import annotations

import time

import bos_widget.views.widget as widget_module
from bos_widget import AttentionWidget
from bos_widget.transport import slices, snapshot

from .arrays import sinky


def _widget(T: int = 12, L: int = 3, H: int = 2, causal: bool = True, **kw) -> AttentionWidget:
    A = sinky(L, H, T, causal)
    return AttentionWidget.from_attentions(A, [f"t{i}" for i in range(T)], causal=causal, **kw)


def _ask(w: AttentionWidget, layer: int, head: int = -1, kind: str = "request") -> None:
    w._on_message(w, {"kind": kind, "layer": layer, "head": head, "weighting": "raw"}, [])


def _sent(w: AttentionWidget) -> list[dict]:
    out: list[dict] = []
    w.send = lambda content, buffers=None: out.append(content)  # type: ignore[method-assign]
    return out


def test_view_switches_leave_the_snapshot_until_the_view_settles():
    w = _widget(layer=0)
    sent = _sent(w)
    _ask(w, 0)
    assert w.snapshot["reply"]["layer"] == 0, "the first slice sets it at once"
    first = w.snapshot
    for layer in (2, 1, 2):  # the view switches: its state update, then its request
        w.set_state({"layer": layer})
        _ask(w, layer)
        assert w.layer == layer and w.snapshot is first, "no snapshot bytes on a switch"
    assert [m["layer"] for m in sent] == [0, 2, 1, 2]  # the slices themselves went out
    _ask(w, 1, kind="settled")  # a view that settled on another layer than the trait's
    assert w.snapshot is first
    _ask(w, 2, kind="settled")
    assert (w.snapshot["reply"]["layer"], w.snapshot["reply"]["head"]) == (2, -1)
    w.head = 1  # set from Python: follows at once
    assert w.snapshot["reply"]["head"] == 1


def test_a_settled_note_before_any_request_sends_nothing():
    w = _widget(layer=1)
    sent = _sent(w)
    _ask(w, 1, kind="settled")
    assert w.snapshot == {} and sent == []


def test_a_snapshot_that_did_not_fit_is_not_encoded_again(monkeypatch):
    w = _widget(T=600, L=2, H=1, causal=False, layer=0)  # over the cap in float16 and uint8
    _sent(w)
    calls = []
    real = snapshot.snapshot
    monkeypatch.setattr(widget_module, "slice_snapshot", lambda *a: calls.append(a) or real(*a))
    _ask(w, 0)
    assert w.snapshot == {} and len(calls) == 1
    w.layer = 1
    _ask(w, 1, kind="settled")
    assert len(calls) == 1, "the size depends only on T and the encoding: no throwaway copy"


def test_warming_waits_while_the_view_is_asking(monkeypatch):
    monkeypatch.setattr(slices, "WARM_YIELD_S", 1.0)
    w = _widget(T=24, L=3, H=2)
    server = slices.SliceServer(w.run)
    server.reply(0, -1)
    thread = server.warm(0, -1)
    assert thread is not None
    time.sleep(0.3)
    assert len(server._cache) == 1, "only the slice asked for, within a second of the request"
    thread.join(timeout=30)
    assert len(server._cache) == 3 * 3  # then every raw slice, means of heads included
