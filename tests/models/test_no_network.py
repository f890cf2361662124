"""Nothing fetches from the internet: import, loading both demo models, capture, the
widget's state and slices, and export (standalone HTML, SVG, PNG) run in a child process whose
sockets refuse every non-loopback address, and no connection is even attempted."""

import json
import re
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, socket

    attempts = []
    LOCAL = ("127.", "::1", "localhost")

    def _guard(address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(address, tuple) and not str(host).startswith(LOCAL):
            attempts.append(str(host))
            raise OSError(f"network blocked by the test: {host}")

    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        _guard(address)
        return _connect(self, address)

    def connect_ex(self, address):
        _guard(address)
        return _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not str(host).startswith(LOCAL):
            attempts.append(str(host))
            raise OSError(f"name lookup blocked by the test: {host}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo

    import importlib.util, pathlib, sys
    import bos_widget
    from bos_widget.transport.slices import SliceServer

    out = pathlib.Path(sys.argv[1])
    done, exported = [], []
    for name in ("smollm2", "minilm"):
        model, tok = bos_widget.demo_model(name)
        w = bos_widget.AttentionWidget.from_model(model, tok, "The cat sat on the warm mat.")
        state = w.get_state()
        content, buffers = SliceServer(w.run).reply(0, -1, "raw")
        done.append([name, len(state["tokens"]), content["kind"], len(buffers[0])])
        # export: the standalone page and the images
        files = [w.to_html(out / f"{name}.html", layers=[0, 1]), w.save_image(out / f"{name}.svg")]
        if importlib.util.find_spec("matplotlib") is not None:
            files.append(w.save_image(out / f"{name}.png"))
        exported += [[f.name, f.stat().st_size] for f in files]
    from bos_widget.cli import main as cli

    code = cli(["render", "The cat sat.", "--model", "minilm", "-o", str(out / "cli.html")])
    exported.append(["cli.html", (out / "cli.html").stat().st_size if code == 0 else -code])
    print(json.dumps({"attempts": attempts, "done": done, "exported": exported}))
    """
)


def test_import_load_capture_render_and_export_need_no_network(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["attempts"] == [], f"network was attempted: {result['attempts']}"
    assert [row[0] for row in result["done"]] == ["smollm2", "minilm"]
    assert all(row[2] == "slice" and row[3] > 0 for row in result["done"])
    names = [row[0] for row in result["exported"]]
    assert {"smollm2.html", "smollm2.svg", "minilm.html", "minilm.svg", "cli.html"} <= set(names)
    assert all(size > 1000 for _, size in result["exported"]), result["exported"]
    for name in ("smollm2.html", "minilm.html", "cli.html"):  # the pages fetch nothing either
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://|<script[^>]*\bsrc\s*=|<link\b", page, re.I), name
    print(f"\nexported without network: {result['exported']}")
