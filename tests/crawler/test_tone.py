"""Tone classification as the SLT meets it, plus the shipped model's integrity and rebuild."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from crawler.tone import CONCERNS, Judgement, classify, classify_many
from crawler.tone.model import MODEL_PATH, LinearModel
from crawler.tone.severity import DEFAULT_RULES
from crawler.tone.train import DEFAULT_DATA

SEVERITIES = {"urgent", "high", "normal", "low"}


def test_judgement_is_the_cli_json_object() -> None:
    out = classify("Lovely sports day, thank you to all the staff!").as_dict()
    assert list(out) == ["tone", "scores", "concerns", "severity", "why"]
    assert out["tone"] in {"positive", "neutral", "negative"}
    assert out["severity"] in SEVERITIES
    assert {"positive", "neutral", "negative", "offensive", "hate"} <= set(out["scores"])
    assert all(0.0 <= v <= 1.0 for v in out["scores"].values())
    assert set(out["concerns"]) <= set(CONCERNS)
    json.dumps(out)


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u00a0"])
def test_empty_text_is_neutral_and_low(text: str) -> None:
    j = classify(text)
    assert (j.tone, j.concerns, j.severity) == ("neutral", [], "low")


@pytest.mark.parametrize("text", [
    "\x00\x01\x02\ufffd\udcff" * 50,
    "مدرسة رائعة جدا شكرا للمعلمين",
    "😀🎉👏" * 200,
    "a" * 300_000,
    "word " * 100_000,
    "!!!???...\n\n\n" * 1000,
])
def test_never_crashes_and_caps_work_on_odd_text(text: str) -> None:
    start = time.perf_counter()
    j = classify(text, focus=[(3, 10)])
    assert isinstance(j, Judgement) and j.severity in SEVERITIES
    json.dumps(j.as_dict())
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("text", [
    "Absolutely brilliant nativity today, so proud of all the children and staff!",
    "Huge thanks to the teachers for a fantastic school trip, my daughter loved every minute",
    "The school has been rated Good by Ofsted",
])
def test_warm_posts_are_positive_and_low(text: str) -> None:
    j = classify(text)
    assert j.tone == "positive" and j.severity == "low" and j.concerns == []


@pytest.mark.parametrize("text", [
    "Not happy at all with how the school handled this",
    "The new school dinners are not good",
    "Disgusting behaviour from the office staff this morning",
])
def test_negative_and_negated_posts_are_negative(text: str) -> None:
    j = classify(text)
    assert j.tone == "negative"
    assert j.severity in {"normal", "high", "urgent"}


@pytest.mark.parametrize("text", [
    "School will close at 1pm on Friday for the Christmas holidays",
    "Bentilee Nursery is recruiting a part-time teaching assistant",
    "Reminder: PE kits needed on Wednesdays",
])
def test_school_notices_are_not_negative(text: str) -> None:
    """Tweets dread school; a post merely about one must not read as negative."""
    assert classify(text).tone != "negative"


def test_why_names_the_words_behind_the_tone() -> None:
    why = classify("Absolutely disgusting, I am not happy at all with this school").why
    assert why[0].startswith("negative 0.")
    assert "'disgusting'" in why[0]


def test_british_spelling_is_quoted_as_written() -> None:
    why = classify("Appalling behaviour and rubbish communication from this school").why[0]
    assert why.startswith("negative") and "rubbish" in why and "garbage" not in why


@pytest.mark.parametrize("text", [
    "Oh great, another INSET day with two days notice. Thanks for nothing.",
    "Yeah right, 'outstanding' school, lovely",
    "Wonderful communication as always /s",
])
def test_sarcasm_markers_turn_praise_negative(text: str) -> None:
    j = classify(text)
    assert j.tone == "negative"
    assert any(r.startswith("sarcasm:") for r in j.why)


@pytest.mark.parametrize("text", [
    "Can't recommend Bentilee Nursery School enough.",
    "Honestly couldn't fault the staff, couldn't be happier",
])
def test_negated_praise_idioms_are_positive(text: str) -> None:
    j = classify(text)
    assert j.tone == "positive"
    assert any(r.startswith("praise:") for r in j.why)


def test_a_neutral_headline_mention_leaves_the_article_tone() -> None:
    text = ("Little shepherds at Bentilee Nursery School nativity\n"
            "The children were absolutely brilliant and families loved every minute. "
            "What a wonderful, magical morning, thank you to everyone who helped.")
    assert classify(text, focus=[(22, 30)]).tone == "positive"


def test_focus_judges_the_sentences_about_the_school() -> None:
    praise = "We had a wonderful holiday in Cornwall and the weather was lovely. " * 6
    school = "Bentilee Nursery is a disgrace and the staff are rude and useless."
    text = praise + school + " " + praise
    start = text.index("Bentilee")
    assert classify(text, focus=[(start, start + 16)]).tone == "negative"
    assert classify(text, focus=[(start, start + 16)]).scores["negative"] > classify(text).scores["negative"]


def test_one_abusive_sentence_in_a_long_post_is_not_averaged_away() -> None:
    praise = "The summer fair raised lots of money and everyone had a lovely time. " * 15
    text = praise + "Shame the head is a useless f***ing idiot. " + praise
    assert "offensive" in classify(text).concerns


def test_classify_many_streams_in_order() -> None:
    def lines():
        yield "Brilliant school, wonderful teachers"
        yield "I will kill that teacher"
        raise RuntimeError("read past what was asked for")

    stream = classify_many(lines())
    assert next(stream).tone == "positive"
    assert "threat" in next(stream).concerns


def test_classify_many_takes_ten_thousand_lines() -> None:
    texts = ["Lovely school", "awful, disgusting place", "", "I know where you live", "meh"]
    lines = list(itertools.islice(itertools.cycle(texts), 10_000))
    start = time.perf_counter()
    out = list(classify_many(lines))
    assert len(out) == 10_000 and time.perf_counter() - start < 30
    assert [j.as_dict() for j in out[:5]] == [classify(t).as_dict() for t in texts]


def test_severity_follows_configured_rules() -> None:
    text = "Hi, I'm a reporter at the Stoke Sentinel writing a piece about the school"
    assert classify(text).severity == "normal"
    strict = SimpleNamespace(urgent=["press"], high=[], normal=[], negative_is="normal")
    assert classify(text, rules=strict).severity == "urgent"
    grumble = "Not happy at all with how the school handled this"
    assert classify(grumble, rules=SimpleNamespace(urgent=[], high=[], normal=[], negative_is="high")).severity == "high"


def test_default_rules_match_the_config_defaults() -> None:
    config = pytest.importorskip("crawler.config")
    defaults = config.Classify()
    for level in ("urgent", "high", "normal"):
        assert list(getattr(DEFAULT_RULES, level)) == getattr(defaults, level)
    assert DEFAULT_RULES.negative_is == defaults.negative_is


def test_shipped_model_matches_its_provenance() -> None:
    provenance = json.loads((MODEL_PATH.parent / "PROVENANCE.json").read_text())
    assert provenance["sha256"] == hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest()
    assert MODEL_PATH.stat().st_size < 5_000_000
    assert set(provenance["val_metrics"]) == {"sentiment_macro_recall", "offensive_macro_f1", "hate_macro_f1"}
    vectors = MODEL_PATH.parent / "wordvectors.npz"
    assert provenance["features"]["word_vectors"]["sha256"] == hashlib.sha256(vectors.read_bytes()).hexdigest()
    assert vectors.stat().st_size < 3_000_000


def test_word_vectors_carry_meaning_the_vocabulary_lacks() -> None:
    """A word the TF-IDF vocabulary may lack still moves the heads through its vector,
    and is then named in `why` like any other word."""
    model = LinearModel.load(MODEL_PATH)
    assert model.wordvectors is not None and model.dense_weights is not None
    v = model.vector("what a moron")
    assert len(v.rows) and abs(float(np.linalg.norm(v.dense)) - 1.0) < 1e-9
    pushes = model.contributions(v, "offensive")
    assert pushes["w\tmoron"] > 0
    moron = model.wordvectors.index["moron"]
    assert moron in v.rows and moron not in model.vector("not a moron").rows  # negated words lend no meaning


needs_data = pytest.mark.skipif(not (DEFAULT_DATA / "sentiment").is_dir(), reason="no ../shared/data/tone")


@needs_data
def test_training_is_deterministic_and_export_matches_sklearn(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from crawler.tone.train import Settings, fit, load_tasks, load_teacher

    settings = Settings(max_features=5000, c_grid=(1.0,), folds=2, limit=300)
    teacher = load_teacher(DEFAULT_DATA, settings.limit)  # MiniLM-labelled tweets for the offensive head
    assert len(teacher["offensive"].texts) == 300 and 0 < teacher["offensive"].p.mean() < 0.5
    paths = []
    for run in ("a", "b"):
        trained = fit(load_tasks(DEFAULT_DATA, settings.limit), settings, teacher=teacher)
        paths.append(tmp_path / run / "tone.npz")
        trained.model.save(paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()

    shipped_form = LinearModel.load(paths[0])
    sample = load_tasks(DEFAULT_DATA, 60)[0].texts
    x = trained.design(sample)  # TF-IDF then word-vector columns, as the heads were fitted
    for name, clf in trained.classifiers.items():
        expected = clf.predict_proba(x)
        head = shipped_form.heads[name]
        got = np.array([[shipped_form.probabilities(shipped_form.decision(shipped_form.vector(t)))[label]
                         for label in head.labels] for t in sample])
        if head.threshold is not None:
            expected = expected[:, 1:]
        np.testing.assert_allclose(got, expected, atol=2e-3)
