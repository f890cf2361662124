"""The version is single-sourced: ``bos_widget/_version.py`` is the one place to change it.

The wheel's metadata reads it (``[tool.hatch.version]`` in pyproject.toml); the front end's
``package.json`` (private, never published) and its lock file must carry the same number.
"""

import json
import pathlib
import re

import bos_widget
from bos_widget import _version

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_python_version_is_read_from_one_file():
    assert bos_widget.__version__ is _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc|\.dev|\.post)?\d*", _version.__version__)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'path = "bos_widget/_version.py"' in pyproject
    assert not re.search(r"(?m)^version\s*=", pyproject), "no second version in pyproject.toml"


def test_package_json_and_lock_agree_with_python():
    want = _version.__version__
    pkg = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    hint = (
        f"the version lives in bos_widget/_version.py ({want}); set the same in package.json "
        "and run `npm install --package-lock-only` to update package-lock.json."
    )
    assert pkg["version"] == want, hint
    assert lock["version"] == want, hint
    assert lock["packages"][""]["version"] == want, hint
