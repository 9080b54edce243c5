"""Press tools: journalists, the principal's press policy, and replies to the press.

A journalist is a contact with role ``press``; the press store
(``Workspace.press``, see :mod:`tools.providers.local.press`) adds their
outlet and beat and logs every exchange. The principal's press policy
(``principal.press``: talking points, topics to decline, embargoes, approvers,
spokesperson) is what every reply is checked against.

``reply_to_press`` is a ``write`` tool and one the gate never lets run on a
standing policy: the approval card lists which talking points the draft
reflects, which topics to decline the enquiry touches (and whether the draft
declines them), the state of every embargo, and up to three earlier exchanges
with the journalist. A draft that names a fact still under embargo is refused,
when it is proposed and again when it would be sent, so embargoed words never
leave before the moment the embargo lifts. The house guidance for writing press
replies is ``prompts/press.md``; ``press_policy`` returns it with the policy.

:func:`is_press_enquiry` and :func:`press_enquiries` let triage and the daily
briefing recognise mail from the press that still waits for an answer.

- :mod:`tools.press.journalists`: who the journalists are and what was said with them
  (find_journalist, add_journalist, press_history);
- :mod:`tools.press.replies`: the press policy, replies checked against it, and the enquiries
  still waiting (press_policy, reply_to_press, press_enquiries).
"""

from __future__ import annotations

from tools.press.journalists import add_journalist, find_journalist, press_history
from tools.press.replies import is_press_enquiry, press_enquiries, press_policy, reply_to_press

__all__ = [
    "find_journalist",
    "add_journalist",
    "press_history",
    "press_policy",
    "reply_to_press",
    "is_press_enquiry",
    "press_enquiries",
]
