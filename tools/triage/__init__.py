"""Triage of incoming mail: a model-free layer first, the model only for the rest.

Every message gets a category (urgent / needs-response / fyi / promotional /
personal), spam and phishing flags, the action the secretary would take
(ignore / file / notify / respond) and a one-line reason. The rules
(:mod:`tools.triage.rules`) decide only what they can decide with strong
evidence: the principal's own mail, phishing and fraud
(:mod:`tools.triage.phishing`, with the brand list ``brands.toml`` and the
look-alike checks of :mod:`tools.triage.domains`), machine-made mail
(:mod:`tools.autoreply`), invitations, and mail from people she knows or
threads she is in, read in English, Danish and German
(:mod:`tools.triage.language` with ``words.toml``).

What the rules leave goes to the model (``prompts/triage.md``) when one is
configured, and is marked ``undecided`` otherwise: shown, never dropped.
Nothing here acts: the autoresponder (``agent.channels.email``) turns verdicts
into proposals.
"""

from tools.triage.mail import ACTIONS, CATEGORIES, Action, Category, History, Incoming, Verdict
from tools.triage.model import model_verdict, not_triaged, triage, unreadable
from tools.triage.phishing import Assessment, assess
from tools.triage.rules import rules

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "Action",
    "Assessment",
    "Category",
    "History",
    "Incoming",
    "Verdict",
    "assess",
    "model_verdict",
    "not_triaged",
    "rules",
    "triage",
    "unreadable",
]
