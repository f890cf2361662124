"""Write docs/api.md from the docstrings of the public API.

Usage: ``.venv/bin/python docs/gen_api.py`` (``--check`` exits 1 when docs/api.md is stale;
tests/unit/test_docs.py runs the same check). The public API is what ``bos_widget.__all__``,
``bos_widget.experiments.__all__`` and the public functions of ``bos_widget.metrics`` name;
docstrings are numpy style and are turned into Markdown here, nothing else is read.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import sys
from types import ModuleType
from typing import Any

OUT = pathlib.Path(__file__).resolve().parent / "api.md"
WRAP = 92  # signatures longer than this get one parameter per line
LIST_SECTIONS = {"Parameters", "Returns", "Yields", "Raises", "Attributes", "Other Parameters"}

HEADER = """\
# API reference

Generated from the docstrings by `python docs/gen_api.py`; do not edit by hand (a unit test
checks that this file is up to date). Shapes follow the papers' notation: `L` layers, `H`
heads, `T` tokens; `[L, H, T, T]` is layers x heads x queries x keys.
"""


class _Plain(str):
    """An annotation string shown without quotes (``from __future__ import annotations``)."""

    def __repr__(self) -> str:
        return str(self)


def _signature(name: str, obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)"
    params = []
    for p in sig.parameters.values():
        ann = p.annotation
        if isinstance(ann, str):
            p = p.replace(annotation=_Plain(ann))
        params.append(p)
    ret = sig.return_annotation
    if isinstance(ret, str):
        ret = _Plain(ret)
    if inspect.isclass(obj):
        ret = inspect.Signature.empty  # a class call returns the class: say nothing
    sig = sig.replace(parameters=params, return_annotation=ret)
    text = re.sub(r" at 0x[0-9a-f]+", "", f"{name}{sig}")
    if len(text) <= WRAP:
        return text
    # one parameter per line: split the text inside the outer parentheses at top-level commas
    head, _, rest = text.partition("(")
    depth, parts, cur = 0, [], ""
    for i, ch in enumerate(rest):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                parts.append(cur.strip())
                tail = rest[i + 1 :]
                break
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    else:  # unbalanced: leave it on one line
        return text
    body = "".join(f"    {p},\n" for p in parts if p)
    return f"{head}(\n{body}){tail}"


def _markdown(doc: str) -> str:
    """numpy-style docstring -> Markdown: section titles in bold, parameters as a list."""
    doc = re.sub(r":(?:func|meth|class|attr|mod|data):`~?([^`]+)`", r"``\1``", doc)
    lines = doc.splitlines()
    out: list[str] = []
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            line.strip()
            and not line.startswith(" ")
            and len(nxt.strip()) >= 3
            and set(nxt.strip()) == {"-"}
        ):
            section = line.strip()
            out += ["", f"**{section}**", ""]
            i += 2
            continue
        if section in LIST_SECTIONS and line.strip():
            if not line.startswith(" "):
                name, sep, kind = line.partition(" : ")
                item = f"- `{name.strip()}`"
                out.append(f"{item} : {kind.strip()}" if sep else item)
            else:
                out.append("  " + line.strip())
        else:
            out.append(line)
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    return _markdown(doc) if doc else "*(no docstring)*"


def _constant(name: str, value: Any) -> str:
    text = repr(value)
    if len(text) > 300:
        text = f"<{type(value).__name__}, {len(text)} characters>"
    return f"### `{name}`\n\n```python\n{name} = {text}\n```\n"


def _traits(cls: type) -> list[str]:
    """Synced traits a class defines itself (not those inherited from ipywidgets)."""
    own = {k for c in cls.__mro__ if c.__module__.startswith("bos_widget") for k in vars(c)}
    traits = getattr(cls, "class_traits", lambda **_: {})(sync=True)
    rows = []
    for name in sorted(traits):
        if name.startswith("_") or name not in own:
            continue
        t = traits[name]
        try:
            default = t.default()
        except Exception:  # noqa: BLE001 - a trait without a static default
            default = "…"
        none = ", or None" if getattr(t, "allow_none", False) else ""
        rows.append(f"| `{name}` | {type(t).__name__}{none} | `{default!r}` |")
    if not rows:
        return []
    title = "**Traits** (synced with the view; read and set them from Python)"
    return [title, "", "| trait | type | default |", "|---|---|---|", *rows, ""]


def _members(qual: str, cls: type) -> list[str]:
    out = []
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, property):
            out += [f"#### `{qual}.{name}` (property)", "", _doc(raw), ""]
        elif isinstance(raw, (classmethod, staticmethod)) or inspect.isfunction(raw):
            fn = getattr(cls, name)
            out += [f"#### `{qual}.{name}`", "", "```python", _signature(f"{qual}.{name}", fn)]
            out += ["```", "", _doc(fn), ""]
    return out


def _entry(qual: str, obj: Any) -> str:
    if not (inspect.isclass(obj) or callable(obj)):
        return _constant(qual, obj)
    kind = "class" if inspect.isclass(obj) else "function"
    parts = [f"### `{qual}` ({kind})", "", "```python", _signature(qual, obj), "```", ""]
    parts += [_doc(obj), ""]
    if inspect.isclass(obj):
        parts += _traits(obj)
        parts += _members(qual.rsplit(".", 1)[-1], obj)
    return "\n".join(parts)


def _public(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, o in vars(module).items()
            if not n.startswith("_") and inspect.isfunction(o) and o.__module__ == module.__name__
        ]
    return [n for n in names if n != "__version__"]


def render() -> str:
    import bos_widget
    import bos_widget.corpus
    import bos_widget.experiments
    import bos_widget.metrics

    # (the path users import, the module): metrics and experiments live in bos_widget.analysis
    sections = [
        ("bos_widget", bos_widget, "The package: capture, widgets, reports."),
        (
            "bos_widget.corpus",
            bos_widget.corpus,
            "The corpus explain() reads by default: 120 texts, 12 genres.",
        ),
        (
            "bos_widget.experiments",
            bos_widget.experiments,
            "Single-text diagnostics that re-run the model (D6-D9).",
        ),
        (
            "bos_widget.metrics",
            bos_widget.metrics,
            "Pure numpy formulas (SCIENCE.md D1-D5); no model needed.",
        ),
    ]
    toc, body = [], []
    for mod, module, blurb in sections:
        anchor = mod.replace(".", "")
        toc.append(f"- [`{mod}`](#{anchor}): {blurb}")
        names = _public(module)
        toc.append("  " + ", ".join(f"`{n}`" for n in names))
        body.append(f"## `{mod}`\n\n{blurb}\n")
        for name in names:
            body.append(_entry(f"{mod}.{name}", getattr(module, name)))
    text = "\n".join([HEADER, *toc, "", *body])
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run `python docs/gen_api.py`.")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
