"""docs/api.md is generated from the docstrings (docs/gen_api.py) and must be up to date;
the docs pages the README links to exist, and the screenshot is a real PNG."""

import importlib.util
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _gen_api():
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date():
    text = _gen_api().render()
    current = (DOCS / "api.md").read_text()
    assert current == text, "docs/api.md is out of date: run `.venv/bin/python docs/gen_api.py`."


def test_api_reference_covers_the_public_api():
    import bos_widget

    text = (DOCS / "api.md").read_text()
    for name in bos_widget.__all__:
        if name != "__version__":
            assert f"`bos_widget.{name}`" in text, name
    assert "**Parameters**" in text and "| `layer` | Int | `0` |" in text


def test_readme_links_resolve():
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs|notebooks)/[^)#\s]+)", readme)
    for want in ("docs/api.md", "docs/attention_sinks.md", "docs/widget.png"):
        assert want in links, f"README does not link {want}"
    for link in links:
        assert (REPO / link).exists(), f"README links {link}, which does not exist"


def test_screenshot_is_a_png():
    data = (DOCS / "widget.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600 and height >= 400, (width, height)


def test_attention_sinks_page_links_the_papers():
    text = (DOCS / "attention_sinks.md").read_text()
    ids = set(re.findall(r"https://arxiv\.org/abs/(\d{4}\.\d{5})", text))
    # SCIENCE.md's ten papers
    assert ids >= {
        "2309.17453",
        "2410.10781",
        "2402.17762",
        "2004.10102",
        "1906.04341",
        "2306.12929",
        "2309.16588",
        "2410.13835",
        "2504.02732",
        "2505.06708",
    }
    for claim in ("C1", "C2", "C3", "C4"):
        assert claim in text
