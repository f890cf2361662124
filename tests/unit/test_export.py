"""Export: the standalone page (self-contained, data escaped, size cap), images, the snapshot
trait and ``bos-widget render`` (tiny models and hand-built arrays; the browser side is in
tests/e2e/test_export.py)."""

from __future__ import annotations

import base64
import json
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bos_widget import AttentionWidget, cli
from bos_widget.export import page as export
from bos_widget.transport import codec, snapshot
from bos_widget.transport.slices import SliceServer

from . import tiny
from .arrays import sinky

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "<!-- x -->",
    "a & b",
    "\u2028\u2029",
    '"quoted\\"',
    "🐍",
    "$\\frac{a$ $",  # not mathtext in PNG titles and labels
    "\u202eevil\x00",  # bidi override and a character XML forbids
]


def _widget(T: int = 12, L: int = 3, H: int = 2, causal: bool = True, **kw) -> AttentionWidget:
    A = sinky(L, H, T, causal)
    tokens = (HOSTILE + [f"t{i}" for i in range(T)])[:T]
    return AttentionWidget.from_attentions(
        A, tokens, model="m </script><b>x</b>", causal=causal, **kw
    )


def _embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="bosw-data">(.*?)</script>', page, re.S)
    assert m, "no embedded data"
    return json.loads(m.group(1))


def test_page_is_self_contained():
    w = _widget()
    page = export.html(w.run, export.widget_state(w))
    assert not re.search(r"https?://", page), "a URL in the page"
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<link\b|@import", page, re.I)
    assert not re.search(r"\burl\(", page), "a CSS url() in the page"
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # exactly the two script elements we wrote, each closed once
    assert len(re.findall(r"<script\b", page, re.I)) == 2
    assert len(re.findall(r"</script", page, re.I)) == 2


def test_hostile_text_is_escaped_data_and_round_trips():
    w = _widget(T=len(HOSTILE) + 3)
    page = export.html(w.run, export.widget_state(w))
    for text in ["<img src=x", "<script>alert(2)", "<!-- x", "<b>x</b>", "\u2028", "\u2029"]:
        assert text not in page, f"{text!r} appears unescaped"
    data = _embedded(page)
    assert data["state"]["tokens"] == list(w.tokens)
    assert data["state"]["meta"]["model"] == "m </script><b>x</b>"
    assert data["title"].startswith(f"m </script><b>x</b> · T={len(HOSTILE) + 3}")


def test_every_slice_is_embedded_and_decodes_to_what_the_kernel_serves():
    w = _widget()
    data = _embedded(export.html(w.run, export.widget_state(w)))
    server = SliceServer(w.run)
    L, H = w.run.n_layers, w.run.n_heads
    assert len(data["slices"]) == L * (H + 1) * len(server.weightings)
    for key, item in data["slices"].items():
        layer, head, weighting = key.split("|")
        got = codec.decode(base64.b64decode(item["data"]))
        want = server.matrix(int(layer), int(head), weighting)
        np.testing.assert_allclose(got, want, atol=item["reply"]["error_bound"] + 1e-7)
        assert item["reply"]["kind"] == "slice" and item["reply"]["layer"] == int(layer)


def test_options_choose_what_is_embedded():
    w = _widget(layer=2)
    data = export.page_data(
        w.run, export.widget_state(w), layers=[0, 1], heads="mean", encoding="uint8"
    )
    assert sorted(data["slices"]) == ["0|-1|raw", "1|-1|raw"]
    assert data["state"]["layer"] == 0, "the opening view must be one that was exported"
    assert all(s["reply"]["encoding"] == "uint8" for s in data["slices"].values())
    assert data["omitted"].startswith("This page holds layers [0, 1] of 0-2 and the mean of heads")
    with pytest.raises(ValueError, match="layers must be a non-empty subset"):
        export.page_data(w.run, export.widget_state(w), layers=[7])
    with pytest.raises(ValueError, match="weighting must be one of"):
        export.page_data(w.run, export.widget_state(w), weightings=["norm"])


def test_size_cap_says_how_to_shrink(tmp_path):
    w = _widget(T=64)
    with pytest.raises(ValueError, match="The export would be about") as err:
        w.to_html(tmp_path / "big.html", max_mb=0.01)
    msg = str(err.value)
    for hint in ("0.01 MB cap", "layers=", "heads='mean'", "encoding='uint8'", "max_tokens"):
        assert hint in msg, (hint, msg)
    assert not (tmp_path / "big.html").exists()
    small = w.to_html(tmp_path / "small.html", heads="mean", encoding="uint8")
    assert small.stat().st_size < w.to_html(tmp_path / "full.html").stat().st_size


def test_svg_says_what_it_shows_and_escapes_tokens(tmp_path):
    w = _widget(layer=1, threshold=0.2)
    for view in ("arcs", "matrix"):
        w.view = view
        path = w.save_image(tmp_path / f"{view}.svg")
        root = ET.parse(path).getroot()  # well-formed XML whatever the token text
        text = " ".join(t for t in root.itertext())
        assert "m </script><b>x</b> · T=12 · layer 1/2 · mean of 2 heads · raw · ε=0.20" in text
        assert ("arcs" if view == "arcs" else "matrix") in text
        assert "␣" not in root.findtext("{http://www.w3.org/2000/svg}text", "")
        assert "<img src=x" not in path.read_text()  # escaped as &lt;
        assert not root.findall(".//{http://www.w3.org/2000/svg}script")


def test_png_is_a_picture_of_a_sane_size(tmp_path):
    pytest.importorskip("matplotlib")
    w = _widget(T=40)
    w.save_image(tmp_path / "arcs.png")  # hostile labels, arcs
    w.view = "matrix"
    data = w.save_image(tmp_path / "m.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 600 < width < 3000 and 600 < height < 3000, (width, height)


def test_png_without_matplotlib_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install 'bos_widget\[image\]'"):
        _widget().save_image(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        _widget().save_image(tmp_path / "x.jpg")


def test_snapshot_appears_after_the_first_request_and_follows_the_view():
    w = _widget(layer=0)
    assert w.get_state()["snapshot"] == {}, "no slice in the state that opens the comm"
    w.send = lambda *a, **k: None  # type: ignore[method-assign] - no front end here
    w._on_message(w, {"kind": "request", "layer": 0, "head": -1, "weighting": "raw"}, [])
    assert w.snapshot["reply"]["layer"] == 0
    w.layer, w.head = 2, 1
    snap = w.snapshot
    assert (snap["reply"]["layer"], snap["reply"]["head"]) == (2, 1)
    got = codec.decode(base64.b64decode(snap["data"]))
    np.testing.assert_allclose(got, SliceServer(w.run).matrix(2, 1), atol=1e-3)


def test_snapshot_is_bounded():
    T = 400  # float16 over the cap, uint8 under it (causal)
    w = _widget(T=T, L=1, H=1)
    snap = snapshot.snapshot(SliceServer(w.run), 0, -1, "raw")
    assert snap is not None and snap["reply"]["encoding"] == "uint8"
    assert len(base64.b64decode(snap["data"])) <= snapshot.SNAPSHOT_MAX_BYTES
    big = _widget(T=600, L=1, H=1, causal=False)
    assert snapshot.snapshot(SliceServer(big.run), 0, -1, "raw") is None


@pytest.fixture
def tiny_demo(monkeypatch):
    from bos_widget import models

    monkeypatch.setattr(models, "demo_model", lambda name: (tiny.llama(), tiny.tokenizer()))


@pytest.mark.parametrize("suffix", [".html", ".svg"])
def test_cli_render_writes_the_file(tiny_demo, tmp_path, capsys, suffix):
    out = tmp_path / f"out{suffix}"
    code = cli.main(["render", "the cat sat on the mat", "--layer", "2", "-o", str(out)])
    assert code == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    if suffix == ".html":
        assert _embedded(text)["state"]["layer"] == 2
    else:
        assert "layer 2/2" in text


def test_cli_render_errors_are_sentences(tiny_demo, tmp_path, capsys):
    assert cli.main(["render", "the cat", "-o", str(tmp_path / "x.pdf")]) == 2
    assert "-o must end in .html, .png or .svg" in capsys.readouterr().err
    assert cli.main(["render", "the cat", "--layer", "9", "-o", str(tmp_path / "x.svg")]) == 2
    assert "layer must be between 0 and 2" in capsys.readouterr().err


def test_image_follows_the_sentence_pair_filter():
    import dataclasses

    from bos_widget.export import figure

    run = _widget(T=8).run
    run = dataclasses.replace(run, meta=dataclasses.replace(run.meta, segment_b_start=3))
    state = {
        "layer": 0, "head": -1, "weighting": "raw", "threshold": 0.3, "hide_sinks": False,
        "view": "matrix", "segment": "B→A",
    }  # fmt: skip
    spec = figure.spec_of(run, state)
    full = SliceServer(run).matrix(0, -1)
    np.testing.assert_array_equal(spec.matrix[3:, :3], full[3:, :3])
    assert not spec.matrix[:3].any() and not spec.matrix[:, 3:].any()
    assert "only B→A" in spec.subtitle
    state["segment"] = "all"
    np.testing.assert_array_equal(figure.spec_of(run, state).matrix, full)
