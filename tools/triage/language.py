"""What the words of a message say, in English, Danish and German (the phrases are ``words.toml``).

Every finder takes a text, folds it (:func:`tools.triage.domains.fold`: case,
accents, look-alike letters) and returns the phrase it found, or ``""``. The
phrases are data; this module only compiles them and knows the few things a
list cannot say: that a negation takes urgency back ("nothing urgent", "ingen
hast"), that a polite closer is not a request, and that a question mark in a
link is not a question.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources

from tools.triage.domains import fold

_URL = re.compile(r"(https?://|www\.)\S+", re.I)


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    data = tomllib.loads(resources.files("tools.triage").joinpath("words.toml").read_text("utf-8"))
    out: dict[str, re.Pattern[str]] = {}
    for concept, languages in data.items():
        phrases = [p for lang in languages.values() for p in lang]
        out[concept] = re.compile(rf"(?<!\w)(?:{'|'.join(phrases)})(?!\w)", re.M)
    return out


def _find(concept: str, folded: str) -> str:
    m = _patterns()[concept].search(folded)
    return m.group(0).strip() if m else ""


def prepare(text: str) -> str:
    """The folded text with links taken out (their words and question marks mean nothing)."""
    return fold(_URL.sub(" ", text))


def calm(folded: str) -> str:
    """The folded text with every negated or conventional use of urgency removed."""
    return _patterns()["calm"].sub(" ", folded)


def urgency(folded: str) -> str:
    """An urgency word or a deadline within hours, outside negations ('' when none)."""
    return _find("urgency", calm(folded)) or deadline(folded)


def deadline(folded: str) -> str:
    """A deadline within hours: today, a time of day, EOD, COB, within the hour.

    A bare time ("by 14:00") counts only when the text names no other day: in
    "Saturday 21 November ... before 22:00" the time is Saturday's.
    """
    text = calm(folded)
    for m in _patterns()["deadline"].finditer(text):
        phrase = m.group(0).strip()
        bare = re.search(r"\d", phrase) and not _find("today", phrase)
        if bare and _find("dated", text) and not _find("today", text):
            continue
        return phrase
    return ""


def request(folded: str) -> str:
    """A question or a request to the reader ('' when the text asks nothing).

    Polite closers ("let me know if you'd like to discuss", "du er velkommen til
    at ringe") are removed to the end of their sentence first.
    """
    text = _strip_closer_sentences(folded)
    if re.search(r"\?(?!\w)", text):
        return "?"
    return _find("request", text)


def _strip_closer_sentences(folded: str) -> str:
    closer = _patterns()["closer"]
    sentences = re.split(r"(?<=[.!?\n])\s*", folded)
    return " ".join(s for s in sentences if not closer.search(s))


def fyi_subject(subject: str) -> bool:
    """Whether the subject says the message is for information only."""
    return bool(_find("fyi_subject", fold(subject)))


def matches(concept: str, folded: str) -> list[re.Match[str]]:
    """Every phrase of a concept the folded text contains."""
    return list(_patterns()[concept].finditer(folded))


def found(concept: str, folded: str) -> str:
    """The phrase of a ``words.toml`` concept the folded text contains ('' when none)."""
    return _find(concept, folded)
