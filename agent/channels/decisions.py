"""What an e-mail answer to an approval request decides: a fixed grammar, never a guess.

The rules (the README's "Approving by e-mail" shows them to users):

* Only the new text counts. Quoted lines (``>``), the history under an "On ... wrote:"
  line (in several languages), an Outlook "From: / Sent:" block and a copy of the
  request itself are skipped, whether the person wrote above or below them.
* The **first line** of the new text decides. It approves or rejects only when it is
  made of phrases from ``decisions.toml`` (English, Danish, German, a few emoji) joined
  by punctuation, with courtesies beside them ("thanks", "tak", "danke") and nothing
  else: "Yes, send it. Thanks!" approves, "Yes, but move it to Friday" does not. A line
  with a question mark is never a decision.
* A rejection may give a reason after the phrase ("No - I will call her") and on the
  lines below.
* An edit is explicit: a first line starting with ``edit:`` (``ret:``, ``ändern:``)
  followed by the new text, or the request's draft block (between its marker lines)
  sent back with changes.
* Anything else is a **message**: the mail desk hands it to the planner as the
  principal's words while the proposal keeps waiting, or answers with how to decide.
  Free text never becomes an action.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

ReadingKind = Literal["approve", "reject", "edit", "message", "empty"]

DRAFT_BEGIN = "--- BEGIN DRAFT ---"
DRAFT_END = "--- END DRAFT ---"
REQUEST_OPENING = "this waits for your decision"
"""Words of the request's first line: a copy of the request below a reply is not new text."""

_QUOTE_VERB = re.compile(
    r"\b(wrote|writes|skrev|schrieb|a écrit|escribió|escreveu|schreef|scrisse|napisał|"
    r"kirjoitti|написал)\b[^\n]{0,160}:\s*$",
    re.IGNORECASE,
)
"""The verb of an "On <date>, <who> wrote:" line; names may follow it ("skrev X <x@y>:")."""
_OUTLOOK_SEPARATOR = re.compile(
    r"^\s*(-{3,}\s*(original message|oprindelig meddelelse|ursprüngliche nachricht|"
    r"message d'origine|mensaje original|originalmeddelande|forwarded message|"
    r"videresendt meddelelse|weitergeleitete nachricht)\s*-{3,}|_{10,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*\**(from|fra|von|de|van|från|od)\s*:\**\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\**(sent|date|sendt|dato|gesendet|datum|envoyé|enviado|verzonden|skickat|"
    r"wysłano|to|til|an|à|para|aan|till|do)\s*:", re.IGNORECASE,
)  # fmt: skip
_MODIFIERS = re.compile("[\ufe0f\ufe0e\u200d\u2640\u2642\U0001f3fb-\U0001f3ff]")
_SEPARATORS = re.compile(r"\s*[.,!;:…\-–—()/]+\s*|\s+-\s+")


@dataclass(frozen=True)
class Reading:
    """What one reply says about one proposal."""

    kind: ReadingKind
    text: str = ""
    """The reason (reject), the new text (edit) or what the person wrote (message)."""
    why: str = ""
    """How it was read, for the log and the audit trail."""


@dataclass(frozen=True)
class Vocabulary:
    """The phrases of ``decisions.toml``, normalised."""

    approve: frozenset[str]
    reject: frozenset[str]
    reject_lead: frozenset[str]
    courtesy: frozenset[str]
    thanks: tuple[str, ...]
    thanks_for: tuple[str, ...]
    edit_prefixes: tuple[str, ...]
    greetings: frozenset[str]
    signature_starts: tuple[str, ...]
    instruction_openers: frozenset[str]


@cache
def vocabulary() -> Vocabulary:
    """The decision vocabulary, loaded once from ``decisions.toml``."""
    data = tomllib.loads((Path(__file__).with_name("decisions.toml")).read_text("utf-8"))

    def words(table: str) -> frozenset[str]:
        return frozenset(normalise(w) for group in data[table].values() for w in group)

    return Vocabulary(
        approve=words("approve"),
        reject=words("reject"),
        reject_lead=frozenset(normalise(w) for w in data["reject_lead"]["words"]),
        courtesy=frozenset(normalise(w) for w in data["courtesy"]["phrases"]),
        thanks=tuple(normalise(w) for w in data["courtesy"]["thanks"]),
        thanks_for=tuple(w.lower() for w in data["courtesy"]["thanks_for_prefix"]),
        edit_prefixes=tuple(p.lower() for p in data["edit"]["prefixes"]),
        greetings=frozenset(normalise(w) for w in data["greeting"]["words"]),
        signature_starts=tuple(normalise(w) for w in data["signature"]["starts"]),
        instruction_openers=frozenset(normalise(w) for w in data["instruction"]["openers"]),
    )


def normalise(text: str) -> str:
    """Case, compatibility forms, curly apostrophes and emoji modifiers folded away."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _MODIFIERS.sub("", text)
    return " ".join(text.split())


# ----------------------------------------------------------------- new text


def _quote_header(lines: list[str], i: int) -> int:
    """How many lines the quoted-history header at line ``i`` spans (0: none there).

    "On ... wrote:" may be wrapped over two lines by the mail program.
    """
    line = lines[i].strip()
    if not line:
        return 0
    if _OUTLOOK_SEPARATOR.match(line) or REQUEST_OPENING in normalise(line):
        return 1
    if _OUTLOOK_HEADER.match(line):
        # "From: x" followed within two lines by "Sent:" / "Date:" / "To:" is a header block.
        return 1 if any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 3]) else 0
    if _history_line(line):
        return 1
    if i + 1 < len(lines):
        nxt = lines[i + 1].strip()
        if nxt and not nxt.startswith(">") and _history_line(f"{line} {nxt}"):
            return 2
    return 0


def _history_line(line: str) -> bool:
    return len(line) < 300 and bool(_QUOTE_VERB.search(line))


def _dated(lines: list[str], i: int, span: int) -> bool:
    """Whether a header names a date or an address ("Jeg skrev til hende:" does not)."""
    text = " ".join(lines[i : i + span])
    return bool(re.search(r"[@\d]", text)) or not _QUOTE_VERB.search(text)


def new_lines(body: str) -> list[str]:
    """The lines a person wrote in a reply, in order, without the quoted history.

    Text written below the quote (bottom posting) counts as well as text above it;
    everything from an unquoted history block (Outlook's "From:/Sent:") down is dropped.
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">"):
            i += 1
            continue
        span = _quote_header(lines, i)
        if span:
            rest = [ln for ln in lines[i + span :] if ln.strip()]
            if not (rest and rest[0].lstrip().startswith(">")):
                if _dated(lines, i, span):
                    break  # unquoted history (Outlook, a pasted request): nothing new below
                out.append(line)
                i += 1
                continue
            # "On ... wrote:" then "> ..." lines: skip the header and carry on, so an
            # answer written under the quote is still read.
            i += span
            continue
        out.append(line)
        i += 1
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return out


# ----------------------------------------------------------------- the grammar


def _spaced_symbols(line: str) -> str:
    """Emoji and other pictographs as pieces of their own ("OK👍" -> "OK , 👍")."""
    return "".join(
        f" , {ch} , " if unicodedata.category(ch) == "So" else ch for ch in _MODIFIERS.sub("", line)
    )


def _segments(line: str) -> list[tuple[str, str]]:
    """(normalised segment, separator after it) pieces of one line."""
    line = _spaced_symbols(line)
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _SEPARATORS.finditer(line):
        out.append((normalise(line[pos : m.start()]), m.group(0).strip()))
        pos = m.end()
    out.append((normalise(line[pos:]), ""))
    return [(seg, sep) for seg, sep in out if seg or sep]


def _courtesy(segment: str, vocab: Vocabulary, last: bool) -> bool:
    if segment in vocab.courtesy:
        return True
    for thanks in vocab.thanks:
        if segment.startswith(thanks + " "):
            rest = segment[len(thanks) + 1 :]
            # "thanks for drafting it" is courtesy; "thanks and cc Bob" is not.
            if rest.startswith(vocab.thanks_for) or (last and rest.isalpha()):
                return True
    return False


def _classify(segment: str, vocab: Vocabulary) -> str:
    if segment in vocab.approve:
        return "approve"
    if segment in vocab.reject:
        return "reject"
    if " " not in segment and len(segment) >= 6:
        # One slip of the finger in a long word ("aprove", "approvd"), if only one kind fits.
        near = {
            kind
            for kind, words in (("approve", vocab.approve), ("reject", vocab.reject))
            if any(len(w) >= 6 and " " not in w and _one_edit(segment, w) for w in words)
        }
        if len(near) == 1:
            return near.pop()
    return ""


def _one_edit(a: str, b: str) -> bool:
    """Whether two words differ by one inserted, deleted or replaced letter."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def read_line(line: str) -> tuple[str, str]:
    """The decision of one line: ('approve' | 'reject' | '', the reason after a reject)."""
    vocab = vocabulary()
    if "?" in line or not line.strip():
        return "", ""
    segments = _segments(line)
    words = [s for s, _ in segments if s]
    if not words:
        return "", ""
    first = words[0].split()[0] if words[0].split() else ""
    if first in vocab.reject_lead:
        # "reject because ...": the word is unambiguous wherever the reason starts.
        reason = line.strip()[len(first) :].lstrip(" :,.-–—!")
        return "reject", reason.strip()
    kinds: list[str] = []
    pieces = [seg for seg, _ in segments if seg]
    originals = [p.strip() for p in _SEPARATORS.split(_spaced_symbols(line)) if p.strip()]
    previous = ""
    for n, (seg, _sep) in enumerate(segments):
        if not seg:
            continue
        kind = _classify(seg, vocab)
        if kind:
            kinds.append(kind)
            previous = kind
            continue
        last = seg == pieces[-1] and n == max(i for i, (s, _) in enumerate(segments) if s)
        if _courtesy(seg, vocab, last=last):
            previous = "courtesy"
            continue
        if last and kinds and " " not in seg and seg.isalpha():
            original = originals[-1] if originals else ""
            # A name after thanks ("Thanks, Ada") or initials ("Approved - AL") signs off.
            if previous == "courtesy" or (original.isupper() and len(original) <= 3):
                continue
        if kinds and kinds[0] == "reject" and len(kinds) == 1 and n > 0:
            # "No - I will call her instead": a rejection with its reason.
            reason = _after_first_segment(line)
            if any(_classify(s, vocab) == "approve" for s, _ in segments):
                return "", ""  # "No, send it" says both: not a decision
            return "reject", reason
        return "", ""
    if not kinds or len(set(kinds)) > 1:
        return "", ""
    return kinds[0], ""


def _after_first_segment(line: str) -> str:
    m = _SEPARATORS.search(line.strip())
    return line.strip()[m.end() :].strip() if m else ""


def _draft_block(body: str) -> str | None:
    """The text between the draft markers of a reply (unquoted), or None without them."""
    lines = body.replace("\r\n", "\n").split("\n")
    begin = end = None
    for n, raw in enumerate(lines):
        text = raw.lstrip("> \t")
        if begin is None and text.strip() == DRAFT_BEGIN:
            begin = n
        elif begin is not None and text.strip() == DRAFT_END:
            end = n
            break
    if begin is None or end is None:
        return None
    inner = [re.sub(r"^(\s*>)+ ?", "", ln) for ln in lines[begin + 1 : end]]
    return "\n".join(inner).strip("\n")


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _cut_signature(lines: list[str], vocab: Vocabulary, signer: str) -> list[str]:
    """The lines above a signature, a mail program's footer or the writer's own name."""
    names = {normalise(signer), normalise(signer.split()[0])} if signer.strip() else set()
    for n, line in enumerate(lines):
        text = normalise(line).strip(" ,.")
        if n and (text.startswith(vocab.signature_starts) or text in names):
            return lines[:n]
        if n and names and any(text.startswith(name + " ") for name in names if " " in name):
            return lines[:n]
    return lines


def _answer_lines(lines: list[str], vocab: Vocabulary, signer: str = "") -> list[str]:
    """The answer without a greeting line before it and a signature or footer after it."""
    out = list(lines)
    if out:
        first = normalise(out[0]).strip(" ,.!:")
        words = first.split()
        if words and len(words) <= 3 and (first in vocab.greetings or words[0] in vocab.greetings):
            if not _classify(first, vocab):
                out = out[1:]
    out = _cut_signature(out, vocab, signer)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def _added_note(block: str, draft: str) -> bool:
    """A [bracketed] remark or a (question?) written into the draft: meant for the secretary."""
    notes = re.findall(r"\[[^\]]*\]|\([^)]*\?[^)]*\)", block)
    return any(note not in draft for note in notes)


def _sign_off_only(lines: list[str]) -> bool:
    """Whether the lines under a decision only sign off ("Best,", "Ada", a title, a phone).

    Anything longer or with a question ("Actually, wait - has Finance seen this?") means
    the first line was not the whole answer.
    """
    return all("?" not in ln and len(ln.split()) <= 6 for ln in lines if ln.strip())


def _instruction(text: str, vocab: Vocabulary) -> bool:
    """An "edit:" that tells the secretary what to change instead of giving the new text."""
    words = normalise(text).split()
    return "\n" not in text.strip() and len(words) <= 12 and bool(words) and (
        words[0].strip(",.:") in vocab.instruction_openers
    )


def read_reply(body: str, draft: str | None = None, signer: str = "") -> Reading:
    """What a reply to an approval request decides.

    Args:
        body: The reply's text (plain text, or the text of an HTML-only reply).
        draft: The text the proposal would send, when it has one (enables edits).
        signer: The writer's name: a line with it (or their first name) starts their
            signature, which is not part of the answer.
    """
    vocab = vocabulary()
    lines = new_lines(body)
    written = "\n".join(lines).strip()
    answer = _answer_lines(lines, vocab, signer)
    if answer:
        first = answer[0].strip()
        for prefix in vocab.edit_prefixes:
            found = re.match(r"\s*" + re.escape(prefix).replace(r"\ ", r"\s*"), first, re.I)
            if not found:
                continue
            if draft is None:
                return Reading("message", written, "an edit of an action without a text")
            # The new text runs to the quote or to a "-- " signature or a phone's footer
            # (the writer's name in it may be the letter's own sign-off: it stays).
            below = lines[lines.index(answer[0]) + 1 :]
            for n, line in enumerate(below):
                if normalise(line).startswith(vocab.signature_starts):
                    below = below[:n]
                    break
            new = "\n".join([first[found.end() :].strip(), *below]).strip()
            if not new:
                return Reading("message", written, "'edit:' without new text")
            if _instruction(new, vocab):
                return Reading("message", written, "'edit:' followed by an instruction")
            return Reading("edit", new, f"explicit '{prefix}' edit")
    block = _draft_block(body) if draft is not None else None
    changed = block is not None and draft is not None and not _same_text(block, draft)
    kind, reason = read_line(answer[0]) if answer else ("", "")
    if kind == "reject":
        rest = "\n".join(answer[1:]).strip()
        text = "\n".join(t for t in (reason, rest) if t).strip()
        return Reading("reject", text, "a rejection in the first line")
    if changed and block is not None:
        if not block.strip():
            return Reading("message", written, "the draft block came back empty")
        if _added_note(block, draft or ""):
            return Reading("message", written, "a note to the secretary in the draft block")
        if "?" in "\n".join(answer):
            return Reading("message", written, "a question beside the changed draft block")
        return Reading("edit", block, "the draft block came back changed")
    if kind == "approve":
        if not _sign_off_only(answer[1:]):
            return Reading("message", written, "more than a sign-off under the approval")
        return Reading("approve", "", "an approval in the first line")
    if not written:
        return Reading("empty", "", "no new text (only the quoted request)")
    return Reading("message", written, "the first line is not a decision")
