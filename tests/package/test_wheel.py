"""Packaging: ``python -m build`` makes a wheel that carries the built JS bundle, and that wheel
installed into a fresh virtualenv (no repo on the path) renders a widget.

Slow: 3 to 4 minutes on 2 busy cores (the fresh venv installs transformers, ipywidgets and the
rest from the package index, about 100 s with pip's cache warm; torch is pinned to the CPU wheel
this machine keeps on disk, so no CUDA build is downloaded).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator

import numpy as np
import pytest

from bos_widget import __version__
from bos_widget.transport import codec

pytestmark = pytest.mark.package

REPO = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bos_widget" / "static" / "widget.js"
# The Makefile pins the same torch: an unpinned one would pull a multi-GB CUDA build.
TORCH = "torch==2.13.0"

# Runs inside the fresh venv, with a temporary folder as cwd: prints one JSON line.
RENDER = r"""
import base64, hashlib, json, pathlib, sys
import numpy as np
import bos_widget
from bos_widget import AttentionWidget

L, H, T = 2, 3, 5
rng = np.random.default_rng(0)
a = rng.random((L, H, T, T)) * np.tril(np.ones((T, T)))
a[..., 0] += 2.0  # a sink on position 0
a /= a.sum(-1, keepdims=True)
w = AttentionWidget.from_attentions(a, ["<s>", "The", " cat", " sat", "."], model="wheel test")
sent = []
w.send = lambda content, buffers=None: sent.append((content, buffers))
w._on_message(w, {"kind": "request", "layer": 1, "head": 2, "weighting": "raw"}, [])
content, buffers = sent[0]
state = w.get_state()
page = w.to_html(pathlib.Path("page.html"))  # the standalone bundle shipped beside widget.js
esm = w._esm if isinstance(w._esm, str) else pathlib.Path(w._esm).read_text()
print(json.dumps({
    "file": bos_widget.__file__,
    "version": bos_widget.__version__,
    "esm_sha256": hashlib.sha256(esm.encode()).hexdigest(),
    "esm_head": esm[:200],
    "state_keys": sorted(state),
    "tokens": state["tokens"],
    "sink_grid": state["sink_grid"],
    "reply": content,
    "slice_b64": base64.b64encode(bytes(buffers[0])).decode(),
    "attention": a[1, 2].tolist(),
    "sys_path": sys.path,
    "page_bytes": page.stat().st_size,
}))
"""


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> pathlib.Path:
    """``python -m build``: the sdist, then the wheel built from that sdist. The sdist has no
    built bundle (bos_widget/static is gitignored), so the wheel proves that the build runs
    ``npm install`` and ``npm run build`` itself (hatch-jupyter-builder)."""
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} is missing: run `npm run build` (make setup does) first.")
    out = tmp_path_factory.mktemp("dist")
    t0 = time.monotonic()
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], 900)
    print(f"python -m build (sdist, then wheel from it): {time.monotonic() - t0:.1f} s")
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> pathlib.Path:
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    print(f"{wheels[0].name}: {wheels[0].stat().st_size / 1024:.0f} kB")
    return wheels[0]


def test_sdist_has_the_sources_not_the_build(dist):
    sdists = list(dist.glob("*.tar.gz"))
    assert len(sdists) == 1, sdists
    with tarfile.open(sdists[0]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {
        "package.json",
        "package-lock.json",
        "js/src/index.ts",
        "bos_widget/__init__.py",
    } <= names
    assert not any(n.startswith(("node_modules/", ".venv/", "bos_widget/static/")) for n in names)


def test_wheel_carries_the_built_bundle(wheel):
    assert wheel.name.startswith(f"bos_widget-{__version__}-"), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "bos_widget/static/widget.js" in names
        assert "bos_widget/static/standalone.js" in names  # to_html's bundle
        for built in BUNDLE.parent.glob("*.js"):  # everything `npm run build` wrote ships
            assert f"bos_widget/static/{built.name}" in names, built.name
        metadata = zf.read(f"bos_widget-{__version__}.dist-info/METADATA").decode()
        entry_points = zf.read(f"bos_widget-{__version__}.dist-info/entry_points.txt").decode()
    assert f"Version: {__version__}" in metadata
    assert "bos-widget = bos_widget.cli:main" in entry_points
    # the package and nothing from the repo's other folders
    assert {n.split("/")[0] for n in names} == {"bos_widget", f"bos_widget-{__version__}.dist-info"}
    # every package of the tree ships (the layer folders and the ones inside them)
    for init in (REPO / "bos_widget").rglob("__init__.py"):
        assert init.relative_to(REPO).as_posix() in names, init


@pytest.fixture
def venv(tmp_path) -> Iterator[pathlib.Path]:
    path = tmp_path / "venv"
    yield path
    shutil.rmtree(path, ignore_errors=True)  # about 1.3 GB, mostly torch


def test_wheel_installs_and_renders_in_a_fresh_venv(wheel, venv, tmp_path):
    t0 = time.monotonic()
    _run([sys.executable, "-m", "venv", str(venv)], 120)
    py = venv / "bin" / "python"
    # no PYTHONPATH and no cwd in the repo: the import must come from the installed wheel
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run(
        [str(py), "-m", "pip", "install", "-q", "--no-compile", TORCH, str(wheel)],
        900,
        cwd=tmp_path,
        env=env,
    )
    print(f"fresh venv + pip install {TORCH} {wheel.name}: {time.monotonic() - t0:.1f} s")
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = _run([str(py), "-c", RENDER], 300, cwd=work, env=env)
    got = json.loads(proc.stdout.strip().splitlines()[-1])

    installed = pathlib.Path(got["file"]).resolve()
    assert installed.is_relative_to(venv.resolve()), got["file"]
    assert not any(p and pathlib.Path(p).resolve() == REPO for p in got["sys_path"])
    assert got["version"] == __version__
    # _esm is the shipped bundle, not the "bundle is missing" fallback
    assert "bundle is missing" not in got["esm_head"]
    with zipfile.ZipFile(wheel) as zf:
        shipped = zf.read("bos_widget/static/widget.js")
    assert got["esm_sha256"] == hashlib.sha256(shipped).hexdigest()
    # opening state: small JSON, the attention itself travels later as bytes
    assert {"tokens", "meta", "sink_grid", "layer", "head", "_esm"} <= set(got["state_keys"])
    assert got["tokens"] == ["<s>", "The", " cat", " sat", "."]
    assert got["page_bytes"] > 10_000  # to_html inlined the standalone bundle
    assert np.array(got["sink_grid"]).shape == (2, 3)
    reply = got["reply"]
    assert reply["kind"] == "slice" and (reply["layer"], reply["head"]) == (1, 2)
    decoded = codec.decode(base64.b64decode(got["slice_b64"]))
    np.testing.assert_allclose(decoded, np.array(got["attention"]), atol=1e-3)
