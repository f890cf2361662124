"""Capture layer (helper): token ids -> readable display strings.

Byte-level BPE (GPT-2, Llama 3, SmolLM2) and SentencePiece tokenizers spell spaces and
newlines as marker characters (``Ġ``, ``▁``, ``Ċ``). Figures show instead what the token
really is, with visible marks for whitespace: ``␣`` for a space, ``↵`` for a newline and
``⇥`` for a tab. The strings are data for ``textContent`` / canvas text, never markup.
"""

from __future__ import annotations

import re
from typing import Any

WHITESPACE_MARKS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
# Bidi controls, zero-width characters and the BOM would reorder or hide text: show their code
# point instead (the front end does the same, js/src/tokens.ts).
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_MARKERS = {"Ġ": " ", "▁": " ", "Ċ": "\n", "ĉ": "\t"}


def readable(text: str) -> str:
    """Replace whitespace and invisible characters with visible marks; ``""`` becomes ``∅``."""
    if text == "":
        return "∅"
    out = "".join(WHITESPACE_MARKS.get(ch, ch) for ch in text)
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", out)


def _marker_fallback(raw: str) -> str:
    return readable("".join(_MARKERS.get(ch, ch) for ch in raw))


def display_tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    """Display strings for ``ids``: decoded text with visible whitespace.

    Tokens that decode to an incomplete UTF-8 sequence (``\\ufffd``) keep their raw
    vocabulary spelling with the markers mapped.
    """
    raw = tokenizer.convert_ids_to_tokens(ids)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    out = []
    for tid, tok in zip(ids, raw, strict=True):
        tok = str(tok)
        if tid in special:
            out.append(tok)
            continue
        try:
            text = tokenizer.convert_tokens_to_string([tok])
        except Exception:  # noqa: BLE001 - any tokenizer quirk falls back to the raw form
            text = None
        if text is None or "\ufffd" in text or (text == "" and tok != ""):
            out.append(_marker_fallback(tok))
        elif tok.startswith("##"):  # WordPiece continuation: keep the marker, it carries meaning
            out.append(tok)
        else:
            out.append(readable(text))
    return out
