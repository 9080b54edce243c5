"""Front-desk tools: phone messages, expected visitors, and tasks for the principal and staff.

Taking a message, scheduling a visit and adding, delegating or completing a
task are ``write`` tools: they change the principal's records (and, for visits
and delegation, the calendar and the outbox), so each goes through the gate.
Times are ISO 8601 or phrases ("tomorrow at 3pm"), read in the principal's zone
against the moment the action was proposed, so an approval a day later still
lands where the card said. The records live in the desk store
(``Workspace.desk``, see :mod:`tools.providers.local.desk`).

- :mod:`tools.desk.callers`: people who call or come by (take_message, list_messages,
  schedule_callback, schedule_visit, visitor_log), and how the desk reads and writes times;
- :mod:`tools.desk.tasks`: tasks for the principal and staff (add_task, delegate_task,
  complete_task, list_tasks).
"""

from __future__ import annotations

from tools.desk.callers import (
    list_messages,
    schedule_callback,
    schedule_visit,
    take_message,
    visitor_log,
)
from tools.desk.tasks import add_task, complete_task, delegate_task, list_tasks

__all__ = [
    "take_message",
    "list_messages",
    "schedule_callback",
    "schedule_visit",
    "visitor_log",
    "add_task",
    "delegate_task",
    "complete_task",
    "list_tasks",
]
