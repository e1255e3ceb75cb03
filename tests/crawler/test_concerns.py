"""Concern detection on real-looking posts: each must fire, each near miss must not.

These run through ``classify`` (what the SLT sees), so a concern raised by any route,
pattern or model, counts.
"""

from __future__ import annotations

import re

import pytest
import yaml

from crawler.tone import CONCERNS, classify
from crawler.tone.lexicon import LEXICON_DIR

FIRES = {
    "threat": [
        "If Mr Davies gives my lad another detention I will batter him",
        "someone should bomb that school honestly",
        "I know where the head teacher lives. Watch your back.",
        "That teacher deserves to be shot for what she did",
        "Apparently he's bringing a knife to school tomorrow, everyone's saying it",
    ],
    "safeguarding": [
        "My 4 year old was left alone in the playground at pick up, nobody even noticed",
        "Daughter came home with bruises on her arm and the nursery won't say what happened",
        "A TA grabbed my son by the arm and dragged him down the corridor",
        "My son is being bullied every single day and nobody does anything",
        "Reception child walked out of the school gates on his own and was found on the main road",
        "Worried about a girl in my son's class, she comes to school hungry every day",
        "A coach there has been sending inappropriate messages to year 9 girls",
    ],
    "extremism": [
        "Kids at the school are being radicalised by a guy who hangs around outside the gates",
        "Someone put neo-nazi stickers all over the school fence last night",
        "Heard a year 10 lad telling everyone he wants to join ISIS",
        "Swastikas drawn in the boys' toilets again and the school says nothing",
    ],
    "allegation": [
        "Mr Jenkins humiliated my daughter in front of the whole class",
        "The head covered it up, just like last time",
        "The school is fiddling the attendance figures before Ofsted come",
        "That teacher is a racist and everyone knows it",
        "Heard Mrs Khan was sacked for stealing from the PTA",
    ],
    "press": [
        "Hi, I'm a journalist at the Stoke Sentinel working on a story about the school's SATs results. Could someone comment?",
        "Media enquiry: BBC Midlands Today would like a statement from the headteacher",
        "If they don't sort this out by Friday I'm going to the papers",
        "A spokesperson for the school said pupils were never at risk.",
    ],
    "personal_data": [
        "Her mobile is 07700 900461 if anyone wants to tell her what they think",
        "The teacher lives at 14 Grange Road, go and have a word",
        "Jack Smith, 7, in Year 2 is the one who bit my son",
        "email him on dave.jones1978@hotmail.com and let him know",
    ],
    "complaint": [
        "I've made a formal complaint to the governors about how this was handled",
        "Followed their complaints procedure to the letter and still no reply after six weeks. Not good enough.",
        "Still waiting for a reply from the school after three emails",
    ],
    "offensive": [
        "The head is a useless f***ing idiot",
        "these teachers are a bunch of useless idiots",
    ],
    "hate": [
        "Go back to your own country, we don't want your kids in our school",
    ],
}

MUST_NOT = {
    "threat": [
        "Year 6 were killing it at sports day!",
        "This homework is killing me",
        "Our choir absolutely smashed it at the festival",
        "Drop dead gorgeous display boards in reception this week",
        "Cars parked on the pavement at drop-off. Someone is going to get hurt.",
    ],
    "safeguarding": [
        "The nursery's safeguarding policy is excellent",
        "Great safeguarding training for all staff today",
        "Anti-bullying week assembly was brilliant, thanks to everyone who came",
        "Dog grooming fundraiser at the PTA fair on Saturday",
        "Ofsted found no safeguarding concerns at all",
    ],
    "extremism": [
        "The school bombed the inspection",
        "Radical new approach to phonics at our school this year",
        "Brilliant Prevent session on tackling radicalisation for staff today",
        "Year 9 history trip to learn about the Second World War",
    ],
    "allegation": [
        "Mr Jones stole the show in the staff panto",
        "Our teachers hit the ground running this term",
        "The head covered online safety in assembly this morning",
        "Our teachers shared an anti-racist reading list with parents",
    ],
    "press": [
        "Press the green button at the gate to be let in",
        "Our press release about the new building is on the website",
        "Thanks for the comment, we'll pass it on to the office",
        "Well done to Year 3 for their newspaper project",
    ],
    "personal_data": [
        "Call the school office on 01782 234567",
        "Email office@bentilee.sch.uk to apply for a place",
        "The nursery is at 12 Dawlish Drive, Stoke-on-Trent ST2 0EU",
        "Year 2 children, aged 6 and 7, performed brilliantly",
    ],
    "complaint": [
        "Our complaints policy is on the school website",
        "First weeks at nursery have been lovely, staff are so kind and she runs in every morning",
        "Please read the complaints procedure before contacting the governors",
    ],
    "offensive": [
        "What a brilliant day at the seaside with Year 1",
        "Year 6 were killing it at sports day!",
    ],
    "hate": [
        "Celebrating International Women's Day with our girls' football team",
        "Welcome to all our new families who have moved here from Poland and Romania",
    ],
}


@pytest.mark.parametrize("concern,text", [(c, t) for c, ts in FIRES.items() for t in ts])
def test_concern_fires_on_real_looking_post(concern: str, text: str) -> None:
    judgement = classify(text)
    assert concern in judgement.concerns, judgement.why
    assert any(concern in reason for reason in judgement.why), "the reason must be shown"


@pytest.mark.parametrize("concern,text", [(c, t) for c, ts in MUST_NOT.items() for t in ts])
def test_near_miss_does_not_fire(concern: str, text: str) -> None:
    assert concern not in classify(text).concerns, classify(text).why


def test_pattern_reason_quotes_the_words_and_names_the_group() -> None:
    why = classify("My daughter was left alone in the playground at home time").why
    assert "safeguarding: 'was left alone' (pattern missing or unsupervised child)" in why


def test_urgent_concerns_make_urgent_alerts() -> None:
    assert classify("I will stab that teacher").severity == "urgent"
    assert classify("My son came home with bruises all over his back").severity == "urgent"


def _lexicon(name: str) -> dict:
    return yaml.safe_load((LEXICON_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def test_every_lexicon_group_is_described_and_compiles() -> None:
    for name in ("concerns", "tone", "vetoes"):
        for concern, groups in _lexicon(name).items():
            assert name == "tone" or concern in CONCERNS
            for group in groups:
                assert group["catches"].strip() and group["patterns"]
                assert set(group.get("also", [])) <= set(CONCERNS)
                for pattern in group["patterns"] + group.get("unless", []):
                    re.compile(pattern)


def test_patterns_are_case_and_quote_insensitive() -> None:
    assert "threat" in classify("I KNOW WHERE YOU LIVE \u2019").concerns
    assert "threat" in classify("you\u2019ll regret this, mark my words").concerns


def test_a_long_rant_does_not_flood_the_reasons() -> None:
    why = classify("I will stab him. " * 200).why
    assert "threat" in classify("I will stab him. " * 200).concerns
    assert sum(r.startswith("threat:") for r in why) == 1
