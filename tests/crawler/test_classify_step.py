"""The classify step judges the passages around the mentions, with the mentions still in focus."""

from __future__ import annotations

from crawler.pipeline.classify import GAP, around


def test_passages_keep_each_mention_and_its_offsets() -> None:
    text = "x" * 5000 + "Bentilee Nursery School is awful" + "y" * 9000 + "Bentilee Nursery rocks" + "z" * 5000
    spans = [(5000, 5023), (14032, 14048)]
    excerpt, focus = around(text, spans, window=100)
    assert [excerpt[s:e] for s, e in focus] == ["Bentilee Nursery School", "Bentilee Nursery"]
    assert excerpt.count(GAP) == 1 and len(excerpt) < 600


def test_near_mentions_share_one_passage_and_short_texts_are_whole() -> None:
    text = "Bentilee Nursery is lovely. I mean Bentilee Nursery really is."
    excerpt, focus = around(text, [(0, 16), (35, 51)])
    assert excerpt == text and focus == [(0, 16), (35, 51)]
