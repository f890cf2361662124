"""Capture layer: the one name a figure gives a model.

Figures, reports and file names say which model they show. transformers keeps the name a
model was loaded under in ``config.name_or_path``: a hub id (``"gpt2"``,
``"HuggingFaceTB/SmolLM2-135M"``) reads well, but a model loaded from a folder (a cache, a
GGUF's folder) carries that folder's path. :func:`model_name` keeps hub ids and replaces paths
with what the folder says about itself: the ``general.name`` of the single GGUF file in it,
the name bos_widget's converted-weights cache recorded, or the folder's name. Imports
neither torch nor transformers (``gguf`` only when a GGUF file is there to read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GENERIC = {"model", "models", "weights", "checkpoint", "hf", "transformers"}


def _gguf_name(path: Path) -> str:
    try:
        from gguf import GGUFReader
    except ImportError:
        return ""
    try:
        field = GGUFReader(str(path)).fields.get("general.name")
        return bytes(field.parts[field.data[0]]).decode("utf-8").strip() if field else ""
    except Exception:  # noqa: BLE001 - an unreadable file just has no name to offer
        return ""


def _folder_name(folder: Path) -> str:
    marker = folder / "bos_widget.json"  # bos_widget's cache of converted demo weights
    if marker.is_file():
        try:
            data = json.loads(marker.read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("display") or data.get("source"):  # the source is the GGUF's file name
            return str(data.get("display") or Path(str(data["source"])).stem)
    ggufs = sorted(folder.glob("*.gguf"))
    if len(ggufs) == 1:
        name = _gguf_name(ggufs[0])
        if name:
            return name
    if folder.name.lower() in GENERIC and folder.parent.name:
        return folder.parent.name  # e.g. <package>/model
    return folder.name


def model_name(model: Any, given: str | None = None) -> str:
    """What figures call ``model``.

    Parameters
    ----------
    model : transformers.PreTrainedModel, a TransformerLens model, or any object with a
        ``config``
    given : str, optional
        A name the caller chose; returned as it is when not empty.

    Returns
    -------
    str
        ``given``; else a TransformerLens model's ``cfg.model_name``; else
        ``config.name_or_path`` when it is a hub id; else, for a local folder, the name it
        records (the GGUF's ``general.name``, a bos_widget cache's display name) or the
        folder's own name; else the model's class name.
    """
    if given:
        return str(given)
    lens_name = getattr(getattr(model, "cfg", None), "model_name", None)
    if lens_name:
        return str(lens_name)
    config = getattr(model, "config", None)
    raw = str(getattr(config, "name_or_path", "") or "")
    if raw:
        path = Path(raw).expanduser()
        local = path.is_absolute() or raw.startswith(".") or path.exists()
        if not local:
            return raw
        if path.is_dir():
            return _folder_name(path)
        if path.is_file() and path.suffix == ".gguf":
            return _gguf_name(path) or path.stem
        return path.name or raw
    return type(model).__name__
