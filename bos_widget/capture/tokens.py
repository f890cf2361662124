"""Capture layer (helper): text -> token ids (checked against the model) -> display strings.

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


def check_text(text: object, what: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError(f"{what} is empty or only whitespace; pass a sentence to analyse.")
    return text


def _max_positions(model: Any) -> int | None:
    cfg = model.config
    for name in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def tokenize(
    tokenizer: Any, model: Any, text: str, text_pair: str | None, max_tokens: int | None
) -> Any:
    limit = _max_positions(model)
    kwargs: dict[str, Any] = {"return_tensors": "pt"}
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}.")
        kwargs.update(truncation=True, max_length=max_tokens)
    enc = (
        tokenizer(text, text_pair, **kwargs) if text_pair is not None else tokenizer(text, **kwargs)
    )
    n = int(enc["input_ids"].shape[1])
    if n == 0:
        raise ValueError("The tokenizer produced no tokens for this text.")
    if limit is not None and n > limit:
        raise ValueError(
            f"The text is {n} tokens long but {type(model).__name__} accepts at most {limit} "
            f"positions. Pass max_tokens={limit} to keep the first {limit} tokens, or shorten "
            "the text."
        )
    vocab = model.get_input_embeddings().num_embeddings
    top = int(enc["input_ids"].max())
    if top >= vocab:
        raise ValueError(
            f"The tokenizer produced token id {top}, but the model's embedding has only {vocab} "
            "rows: this tokenizer does not belong to this model. Load both from the same "
            "checkpoint (e.g. bos_widget.demo_model(name))."
        )
    return enc


def bos_added_by_tokenizer(tokenizer: Any, ids: list[int], text: str) -> bool:
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    if not ids or ids[0] not in special:
        return False
    plain = tokenizer(text, add_special_tokens=False)["input_ids"]
    return not plain or plain[0] != ids[0]


def segment_b_start(enc: Any) -> int | None:
    """Position of the first token of the second text of a pair, or ``None``."""
    try:
        seq = enc.sequence_ids(0)
    except (AttributeError, ValueError):
        seq = None
    if seq is not None and 1 in seq:
        return seq.index(1)
    if "token_type_ids" in enc:
        types = enc["token_type_ids"][0].tolist()
        if 1 in types:
            return types.index(1)
    return None
