"""The package's imports point one way (DESIGN.md "Dependencies point one way", "No import
circles"), read statically from the source with ``ast``.

What counts as an edge ``a -> b``:

- module-level imports of ``a`` (including those inside ``try``, ``if`` and class bodies), and
- imports under ``if TYPE_CHECKING:``: they never run, but a module that needs another's names
  to be typed depends on it, so a circle through one is still a circle in the design.

Imports inside a function body are lazy and are not edges: they are how a thin layer reaches a
torch-side one only when asked (``AttentionWidget.from_model`` imports ``capture``,
``corpus_view`` imports ``capture`` when a text is opened) and how a convenience entry point
opens a view that is built on top of it (``from_model`` opens a ``Seq2SeqView`` for an
encoder-decoder model). They run once every module is loaded, so they cannot meet a
half-initialised module.

Relative imports are resolved; ``from . import x`` is an edge to the submodule ``x`` when one
exists. The parent packages a module is imported through (``bos_widget/__init__.py`` runs
before ``bos_widget.views.widget``) are not edges of the circle check (every re-export would be a
circle) but are followed by the torch check, since importing ``bos_widget.views.widget`` runs them.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import bos_widget

PACKAGE = pathlib.Path(bos_widget.__file__).parent
# DESIGN.md: these layers never import torch (nor transformers, which imports it)
TORCH_FREE = (
    *("analysis", "capture", "transport", "views", "export"),  # the layers' own __init__ files
    *("analysis.metrics", "metrics", "transport.codec", "transport.slices", "views.widget"),
    *("export.figure", "export.page"),
)
TORCH = frozenset({"torch", "transformers"})


@dataclass
class Module:
    name: str  # dotted, e.g. "bos_widget.views.widget"
    path: pathlib.Path
    is_package: bool
    eager: set[str] = field(default_factory=set)  # module-level imports (dotted names)
    typing: set[str] = field(default_factory=set)  # under `if TYPE_CHECKING:`
    lazy: set[str] = field(default_factory=set)  # inside a function body


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with where it sits: ``"eager"``, ``"typing"`` or ``"lazy"``."""

    def walk(node: ast.AST, where: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, where
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, "lazy")
            elif isinstance(child, ast.If) and _is_type_checking(child.test) and where == "eager":
                for stmt in child.body:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), "eager")
            else:
                yield from walk(child, where)

    yield from walk(tree, "eager")


def scan(root: pathlib.Path) -> dict[str, Module]:
    """Every module of the package at ``root`` with the modules each one imports."""
    modules: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = Module(".".join(parts), path, is_package)
    for mod in modules.values():
        here = mod.name if mod.is_package else mod.name.rpartition(".")[0]
        tree = ast.parse(mod.path.read_text(encoding="utf-8"), str(mod.path))
        for node, where in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    pkg = here.split(".")
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            getattr(mod, where).update(targets)
    return modules


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """One circle ``[a, b, ..., a]`` for each strongly connected group of modules (Tarjan),
    over module-level and TYPE_CHECKING imports inside the package."""
    graph = {
        name: sorted(
            t
            for t in mod.eager | mod.typing
            if t in modules and t != name and t not in _parents(name)
        )
        for name, mod in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    found = []
    for group in groups:  # the shortest path from the group's first module back to it
        start, members = group[0], set(group)
        paths = {start: [start]}
        queue = [start]
        circle: list[str] = []
        while queue and not circle:
            v = queue.pop(0)
            for w in graph[v]:
                if w == start:
                    circle = [*paths[v], start]
                    break
                if w in members and w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
        found.append(circle)
    return found


def torch_paths(modules: dict[str, Module], start: str) -> list[str]:
    """How importing ``start`` imports torch: import chains, empty when it does not.

    Follows what runs: module-level imports (not TYPE_CHECKING, not function bodies) and the
    parent packages of every module reached. ``start``'s own source must not name torch
    anywhere, not even in a function."""
    found = []
    own = modules[start]
    direct = {t for t in own.eager | own.typing | own.lazy if t.split(".")[0] in TORCH}
    found += [f"{start} imports {t}" for t in sorted(direct)]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        mod = modules[v]
        nexts = [p for p in _parents(v) if p in modules] + sorted(mod.eager)
        for t in nexts:
            if t.split(".")[0] in TORCH and v != start:
                found.append(" -> ".join([*paths[v], t]))
            elif t in modules and t not in paths:
                paths[t] = [*paths[v], t]
                queue.append(t)
    return found


# ---- the walker finds what it should (a synthetic package) ------------------------------


def _package(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_walker_finds_a_circle_through_a_type_checking_import(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "from .a import A\n",
            "a.py": "from . import b\nA = 1\n",
            "b.py": "from .sub import c\n",
            "sub/__init__.py": "",
            "sub/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from ..a import A\n"
                "def f():\n"
                "    from .. import b  # lazy: not an edge\n"
            ),
            "d.py": "def g():\n    from . import a\n",  # d -> a only lazily
            "e.py": "from . import d\n",
        },
    )
    found = cycles(scan(root))
    assert found == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_walker_finds_torch_behind_a_parent_package(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "from .heavy import run\n",
            "heavy.py": "import torch.nn\ndef run(): ...\n",
            "light.py": "import numpy\ndef f():\n    from . import heavy\n",
            "bad.py": "def f():\n    import transformers\n",
        },
    )
    modules = scan(root)
    assert torch_paths(modules, "pkg.light") == ["pkg.light -> pkg -> pkg.heavy -> torch.nn"]
    assert torch_paths(modules, "pkg.bad")[0] == "pkg.bad imports transformers"
    (root / "__init__.py").write_text("")
    assert torch_paths(scan(root), "pkg.light") == []


# ---- the package ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return scan(PACKAGE)


def test_the_walker_reads_the_package(modules):
    assert "bos_widget.export.page" in modules["bos_widget.views.widget"].eager
    assert "bos_widget.capture.driver" in modules["bos_widget.views.widget"].lazy
    assert {"torch"} <= modules["bos_widget.capture.driver"].eager


def test_no_import_circles(modules):
    found = cycles(modules)
    assert not found, "import circles (module-level or TYPE_CHECKING imports): " + "; ".join(
        " -> ".join(c) for c in found
    )


@pytest.mark.parametrize("name", TORCH_FREE)
def test_thin_layers_never_import_torch(modules, name):
    found = torch_paths(modules, f"bos_widget.{name}")
    assert not found, f"bos_widget.{name} imports torch: " + "; ".join(found)


# ---- a fresh interpreter ----------------------------------------------------------------

_CHECK = """
import sys
{code}
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
assert not heavy, f"{{heavy}} imported"
"""


@pytest.mark.parametrize(
    "code",
    [
        "import bos_widget.views.widget",
        "import bos_widget; bos_widget.AttentionWidget; bos_widget.show; bos_widget.compare",
        "from bos_widget import AttentionWidget, show, head_view, model_view, CorpusView",
        "import bos_widget.export.page, bos_widget.export.figure, bos_widget.export.crossfig",
        "import bos_widget.views.seq2seq, bos_widget.metrics, bos_widget.capture.lens",
    ],
)
def test_importing_the_widget_leaves_torch_out(code):
    _run(_CHECK.format(code=code))


@pytest.mark.parametrize(
    "code",
    [
        "import bos_widget",
        "import bos_widget.capture; import bos_widget.explain; import bos_widget",
        "import bos_widget.explain.stats, bos_widget.capture",
        "from bos_widget import capture, explain; import bos_widget.capture, bos_widget.explain",
        "import bos_widget; bos_widget.capture; import bos_widget.capture",
        "import bos_widget; dir(bos_widget); import bos_widget.explain.report",
    ],
)
def test_capture_and_explain_stay_the_functions_in_any_import_order(code):
    _run(
        code
        + textwrap.dedent("""
            import types, bos_widget
            from bos_widget.capture import CaptureError, capture as the_capture
            from bos_widget.explain import ExplainReport, explain as the_explain
            assert bos_widget.capture is the_capture, bos_widget.capture
            assert bos_widget.explain is the_explain, bos_widget.explain
            assert bos_widget.CaptureError is CaptureError
            assert bos_widget.ExplainReport is ExplainReport
            for name in bos_widget.__all__:
                assert not isinstance(getattr(bos_widget, name), types.ModuleType), name
            assert set(bos_widget.__all__) <= set(dir(bos_widget))
        """)
    )


def _run(code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE.parent,
    )
    assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
