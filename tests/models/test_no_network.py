"""Nothing fetches from the internet: import, loading both demo models, capture and the
widget's state and slices run in a child process whose sockets refuse every non-loopback
address, and no connection is even attempted."""

import json
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

    import bos_widget
    from bos_widget.slices import SliceServer

    done = []
    for name in ("smollm2", "minilm"):
        model, tok = bos_widget.demo_model(name)
        w = bos_widget.AttentionWidget.from_model(model, tok, "The cat sat on the warm mat.")
        state = w.get_state()
        content, buffers = SliceServer(w.run).reply(0, -1, "raw")
        done.append([name, len(state["tokens"]), content["kind"], len(buffers[0])])
    print(json.dumps({"attempts": attempts, "done": done}))
    """
)


def test_import_load_capture_and_render_need_no_network():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["attempts"] == [], f"network was attempted: {result['attempts']}"
    assert [row[0] for row in result["done"]] == ["smollm2", "minilm"]
    assert all(row[2] == "slice" and row[3] > 0 for row in result["done"])
