"""The packaged corpus: size, varied first words and genres, the fast subset, and the loaders'
bounds (no model needed)."""

from collections import Counter

import pytest

from bos_widget.corpus import FAST_SUBSET, PROVENANCE, corpus_table, load_corpus


def test_corpus_is_large_with_unique_ids():
    table = corpus_table()
    assert len(table) >= 100
    assert table["id"].is_unique
    assert load_corpus() == table["text"].tolist()


def test_first_words_vary():
    first = corpus_table()["first_word"].str.lower()
    counts = Counter(first)
    assert len(counts) >= 90
    assert max(counts.values()) <= 3, counts.most_common(3)
    assert first.str.isdigit().any(), "some text should start with digits"
    assert corpus_table()["text"].str.startswith('"').sum() >= 3, "quoted speech first"


def test_every_text_is_long_enough():
    table = corpus_table()
    short = table[table["n_words"] < 75]
    assert short.empty, short[["id", "n_words"]]
    assert (table["n_words"] == table["text"].str.split().str.len()).all()


def test_fast_subset_covers_every_genre():
    table = corpus_table()
    head = table["genre"].iloc[:FAST_SUBSET]
    assert head.nunique() == FAST_SUBSET
    assert set(head) == set(table["genre"])
    assert load_corpus(FAST_SUBSET) == table["text"].iloc[:FAST_SUBSET].tolist()


def test_load_corpus_bounds():
    n = len(corpus_table())
    assert len(load_corpus(1)) == 1
    assert len(load_corpus(n)) == n
    for bad in (0, -1, n + 1):
        with pytest.raises(ValueError, match=f"between 1 and {n}"):
            load_corpus(bad)
    with pytest.raises(TypeError):
        load_corpus(2.5)  # type: ignore[arg-type]


def test_corpus_table_columns_and_provenance():
    table = corpus_table()
    assert list(table.columns) == ["id", "genre", "first_word", "n_words", "text"]
    assert table.loc[table["id"] == "t006", "first_word"].item() == "Are"  # quote stripped
    assert "MIT" in PROVENANCE and "2026" in PROVENANCE and "120 texts" in PROVENANCE
