"""Data layer: a corpus of natural English texts for corpus-level measurements.

``texts.json`` holds 120 paragraphs (about 90 to 115 words each) in 12 genres, one object
``{"id", "genre", "text"}`` per text. The first :data:`FAST_SUBSET` texts cover all 12 genres,
so fast tests can take ``load_corpus(FAST_SUBSET)``. First words vary on purpose (names,
numbers, pronouns, imperatives, quoted speech), because the first token is what a sink
measurement is about. No torch here.
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources

import pandas as pd

FAST_SUBSET = 12

PROVENANCE = (
    "Written for bos_widget by its developers in 2026 and released under the project's MIT "
    "licence (the same as the package): 120 texts in 12 genres (news report, fiction, science "
    "explanation, history, instructions, dialogue, letter, review, opinion, travel, technical, "
    "sports report). No text was copied from elsewhere."
)


@cache
def _records() -> tuple[dict[str, str], ...]:
    raw = resources.files(__name__).joinpath("texts.json").read_text(encoding="utf-8")
    return tuple(json.loads(raw))


def load_corpus(n: int | None = None) -> list[str]:
    """The corpus texts, in their fixed order.

    Parameters
    ----------
    n : int, optional
        Return only the first ``n`` texts (``1 <= n <= 120``); all of them when omitted.
        ``n = FAST_SUBSET`` gives one text of each genre.

    Returns
    -------
    list[str]
        ``n`` English paragraphs, each at least 64 tokens on the demo models' tokenizers.
    """
    records = _records()
    if n is None:
        n = len(records)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int or None, not {type(n).__name__}.")
    if not 1 <= n <= len(records):
        raise ValueError(
            f"n={n} is out of range: the corpus has {len(records)} texts, so pass n between "
            f"1 and {len(records)}, or None for all of them."
        )
    return [r["text"] for r in records[:n]]


def corpus_table() -> pd.DataFrame:
    """The whole corpus as a table, one row per text.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``genre``, ``first_word`` (the first word without surrounding
        punctuation, so ``"Are`` gives ``Are``), ``n_words`` (whitespace-separated words)
        and ``text``; 120 rows in corpus order.
    """
    rows = [
        {
            "id": r["id"],
            "genre": r["genre"],
            "first_word": r["text"].split()[0].strip(string.punctuation),
            "n_words": len(r["text"].split()),
            "text": r["text"],
        }
        for r in _records()
    ]
    return pd.DataFrame(rows, columns=["id", "genre", "first_word", "n_words", "text"])
