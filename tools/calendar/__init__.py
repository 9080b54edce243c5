"""Calendar tools: read the agenda, find and offer meeting times, and propose event changes.

Times go in as ISO 8601 strings or plain phrases ("next Tuesday at 10",
"tomorrow afternoon", "next week"), read in the principal's time zone relative
to the principal's *now*, and come back in that zone. Creating, moving and
cancelling events, answering invitations and offering times by e-mail are
``write`` tools: the model only proposes them, and the preview shows the exact
time (with how a phrase was read), conflicts, working-hour, zone and
daylight-saving warnings before anyone approves.

Attendees who cannot see the principal's calendar get an iTIP invitation or
cancellation by e-mail (``tools.itip``) unless the calendar provider says it
invites attendees itself (``sends_invitations = True``).
"""

from tools.calendar.agenda import agenda, find_free_slots
from tools.calendar.events import cancel_event, create_event, move_event
from tools.calendar.invitations import respond_to_invite
from tools.calendar.offers import propose_times

__all__ = [
    "agenda",
    "cancel_event",
    "create_event",
    "find_free_slots",
    "move_event",
    "propose_times",
    "respond_to_invite",
]
