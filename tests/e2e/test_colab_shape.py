"""The bundle under the message shapes of Google Colab's widget manager (no Colab here).

Colab runs anywidget through its own custom widget manager, which differs from JupyterLab's
in two ways the front end must survive: binary buffers that a comm opens with are dropped,
and the buffers of a ``msg:custom`` message arrive as ``Uint8Array`` views (here with a
non-zero byte offset into a larger buffer, the strictest case) rather than ``DataView``s.

The page holds the built bundle and a model object with the ipywidgets API (``get``, ``set``
with Backbone's change events, ``on``/``off``, ``save_changes``, ``send``). The other end is a
real ``AttentionWidget`` on SmolLM2 in this Python process: the page's opening state is its
``get_state()`` (JSON only), every ``send`` from the page goes to the widget's own message
handler, and its replies come back in Colab's shape. The test checks that the view draws,
that a slider moves it to another slice through that path, and that the opening state holds
no binary value.
"""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
from playwright.sync_api import expect

import bos_widget

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BUNDLE = pathlib.Path(bos_widget.__file__).parent / "static" / "widget.js"
ORIGIN = "http://colab-shape.test"
TEXT = "The old lighthouse keeper climbed the stairs every evening to light the lamp."
TRAITS = [
    "tokens",
    "meta",
    "sink_grid",
    "layer",
    "head",
    "threshold",
    "view",
    "selected",
    "weighting",
    "hide_sinks",
    "label",
    "segment",
    "theme",
    "error",
    "snapshot",
]

PAGE = """<!doctype html><meta charset="utf-8"><body><div id="out"></div>
<script type="module">
import widget from "/widget.js";
const state = JSON.parse(document.getElementById("state").textContent);
const listeners = {};
const fire = (ev, ...args) => (listeners[ev] || []).slice().forEach((cb) => cb(...args));
const dirty = new Set();
const asColab = (b64) => {  // a Uint8Array view at offset 3 of a larger buffer
  const raw = atob(b64);
  const big = new Uint8Array(raw.length + 8);
  for (let i = 0; i < raw.length; i++) big[i + 3] = raw.charCodeAt(i);
  return big.subarray(3, 3 + raw.length);
};
const model = {
  get: (k) => state[k],
  set: (k, v) => {
    const same = JSON.stringify(state[k]) === JSON.stringify(v);
    state[k] = v;
    dirty.add(k);
    if (!same) fire(`change:${k}`);
  },
  on: (ev, cb) => (listeners[ev] ||= []).push(cb),
  off: (ev, cb) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== cb); },
  save_changes: () => {
    const changed = Object.fromEntries([...dirty].map((k) => [k, state[k]]));
    dirty.clear();
    window.pySetState(JSON.stringify(changed));
  },
  send: async (content) => {
    window.sent = (window.sent || 0) + 1;
    const replies = await window.pySend(JSON.stringify(content));
    for (const [msg, buffers] of replies) {
      window.received = (window.received || []).concat([buffers.map((b) => b.length)]);
      fire("msg:custom", msg, buffers.map(asColab));
    }
  },
};
widget.render({ model, el: document.getElementById("out") });
</script>"""


@pytest.fixture(scope="module")
def widget():
    return bos_widget.show(TEXT, model="smollm2", progress=False)


def test_the_bundle_draws_with_colabs_message_shapes(browser, widget):
    if not BUNDLE.exists():
        pytest.fail("the bundle is missing: run `npm run build` (make setup does)")
    state = widget.get_state()
    binary = [k for k, v in state.items() if isinstance(v, bytes | bytearray | memoryview)]
    assert binary == [], f"binary values in the opening state: {binary}"
    assert state["snapshot"] == {}, "no slice travels with the comm's opening state"
    opening = {k: state[k] for k in TRAITS}
    replies: list[tuple[dict, list[str]]] = []
    widget.send = lambda content, buffers=None: replies.append(  # type: ignore[method-assign]
        (content, [base64.b64encode(bytes(b)).decode() for b in buffers or []])
    )

    def py_send(text: str) -> list:
        replies.clear()
        widget._on_message(widget, json.loads(text), [])
        return [[content, buffers] for content, buffers in replies]

    def py_set_state(text: str) -> None:
        widget.set_state(json.loads(text))

    html = PAGE.replace(
        "<body>",
        '<body><script id="state" type="application/json">'
        + json.dumps(opening).replace("</", "<\\/")
        + "</script>",
    )
    with jp.new_page(browser, width=1200) as (page, seen):
        page.expose_function("pySend", py_send)
        page.expose_function("pySetState", py_set_state)
        page.route(
            f"{ORIGIN}/**",
            lambda r: r.fulfill(
                status=200,
                content_type="text/javascript" if r.request.url.endswith(".js") else "text/html",
                body=BUNDLE.read_text() if r.request.url.endswith(".js") else html,
            ),
        )
        try:
            page.goto(f"{ORIGIN}/index.html")
            root = page.get_by_test_id("bosw-root")
            layer = widget.layer
            expect(root).to_have_attribute("data-painted", f"{layer}|-1|raw:arcs", timeout=60_000)
            canvas = root.get_by_test_id("bosw-canvas")
            sig = jp.canvas_signature(canvas)
            assert sig["colours"] > 10 and sig["inked"] > 0.01 * sig["width"] * sig["height"], sig
            received = page.evaluate("window.received")
            assert received and all(n > 0 for sizes in received for n in sizes), received

            slider = root.get_by_test_id("bosw-layer")
            slider.focus()
            page.keyboard.press("ArrowLeft")
            expect(root).to_have_attribute("data-painted", f"{layer - 1}|-1|raw:arcs")
            assert widget.layer == layer - 1, "the slider's change did not reach Python"
            expect(root.get_by_test_id("bosw-error")).to_be_hidden()
            assert seen.errors == [], seen.errors
        finally:
            jp.shot(page, "colab-shape")
