"""The words a probe is matched on: distinctive, lower case, at most twelve."""

from __future__ import annotations

from engine.places.matching import MAX_WORDS, words


def test_common_words_and_short_ones_are_dropped_and_repeats_kept_once() -> None:
    assert words("Sampah di Jl. Ahmad Yani belum diangkut, SAMPAH berbau") == [
        "sampah", "ahmad", "yani", "diangkut", "berbau"
    ]  # fmt: skip


def test_punctuation_cannot_reach_the_full_text_query() -> None:
    assert words('a" OR "b * NEAR(x) -- ; \' |') == ["near"]
    assert len(words(" ".join(f"kata{n}" for n in range(40)))) == MAX_WORDS
