"""Twins (tests): Python rules that have a TypeScript twin read the same JSON fixtures.

js/test/twins.test.ts reads the same files; a case that one side gets wrong fails there too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from bos_widget import AttentionWidget
from bos_widget.analysis import metrics
from bos_widget.capture.adapters import run_from_attentions
from bos_widget.capture.tokens import readable
from bos_widget.export import figure
from bos_widget.transport import codec, slices
from bos_widget.views import widget

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_readable_tokens_match_the_shared_fixture():
    for case in _load("tokens.json")["cases"]:
        assert readable(case["token"]) == case["label"], case


def test_figure_labels_print_the_shared_readable_label():
    for case in _load("tokens.json")["cases"]:
        assert figure.label(case["token"], width=100) == case["label"], case


def _ts_meta_keys() -> set[str]:
    src = (ROOT / "js" / "src" / "types.ts").read_text(encoding="utf-8")
    body = re.search(r"export interface Meta \{(.*?)\n\}", src, re.S)
    assert body, "js/src/types.ts has no `export interface Meta { ... }`"
    return set(re.findall(r"^  (\w+)\??:", body.group(1), re.M))


def test_ts_meta_type_carries_every_field_python_sends():
    A = np.full((2, 3, 4, 5), 0.2, np.float32)
    run = run_from_attentions(A, list("abcde"), query_tokens=["<s>", "x", "y", "z"])
    sent = set(AttentionWidget(run).meta)  # every key, optional ones as null; query_tokens too
    sent |= {"layer_ids", "head_ids"}  # compat.py adds these to bertviz-style widgets
    missing = sent - _ts_meta_keys()
    assert not missing, f"add {sorted(missing)} to `interface Meta` in js/src/types.ts"


def test_shared_constants_fixture_equals_the_python_values():
    """Python is the source of tests/fixtures/constants.json; vitest checks TypeScript on it."""
    shared = _load("constants.json")
    shared.pop("about")
    assert shared == {
        "TOP_P": figure.TOP_P,
        "MAX_ARCS_PER_QUERY": figure.MAX_ARCS,
        "MIN_SUPPORT": metrics.MIN_SUPPORT,
        "GAMMA": figure.GAMMA,
        "CODEC_VERSION": codec.VERSION,
        "FLAG_LOWER": codec.FLAG_LOWER,
        "SEGMENTS": list(widget.SEGMENTS),
        "VIEWS": list(widget.VIEWS),
        "WEIGHTINGS": list(slices.WEIGHTINGS),
        "THEMES": list(widget.THEMES),
    }


def _close(got, want) -> bool:
    return np.allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), atol=1e-6)


def test_arc_pruning_matches_the_shared_fixture():
    for case in _load("twins.json")["arcs"]:
        got = figure.arcs(np.asarray(case["matrix"], np.float32))
        assert [(q, k) for q, k, _ in got] == [(q, k) for q, k, _ in case["arcs"]], case
        assert _close([w for *_, w in got], [w for *_, w in case["arcs"]])


def test_hide_sinks_matches_the_shared_fixture():
    for case in _load("twins.json")["hide"]:
        m, sinks = np.asarray(case["matrix"], np.float32), np.asarray(case["sinks"], bool)
        assert _close(figure._hide(m, sinks), case["hidden"]), case


def test_sentence_segments_match_the_shared_fixture():
    seg = _load("twins.json")["segments"]
    m = np.asarray(seg["matrix"], np.float32)
    for case in seg["cases"]:
        got = figure._segment(m, case["segment"], case["b"])
        assert (got is None) == (case["kept"] is None), case
        assert got is None or _close(got, case["kept"]), case


def test_sink_scores_match_the_shared_fixture():
    for case in _load("twins.json")["scores"]:
        m = np.asarray(case["matrix"], np.float32)
        assert _close(metrics.sink_scores(m, case["causal"]), case["alpha"]), case
