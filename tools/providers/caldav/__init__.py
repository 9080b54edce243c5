"""Calendars on any CalDAV server (Nextcloud, iCloud, Fastmail, Radicale...) via the caldav library.

Account settings (the principal's ``accounts.calendar`` table, ``provider = "caldav"``):

* ``url`` (required): the server's or the principal's URL, e.g.
  ``https://cloud.example.com/remote.php/dav``; the principal and its calendars
  are discovered from it.
* ``username`` (required) and ``password``, better ``password_env`` (an
  environment variable name) or ``password_file`` (a file holding it); app
  passwords work the same way.
* ``calendar``: the calendar to use, by display name (``"Work"``) or by URL
  path (``"/ada/work/"``). Default: the first calendar that holds events;
  when the principal has no calendar at all, one named "Secretary" is created.
* ``address``: the principal's address on this calendar, used to find their
  ATTENDEE line when answering invitations (default: the principal's e-mail).
* ``ca_file``: a CA bundle (PEM) to trust, for servers with a private CA;
  ``verify = false`` turns certificate checks off (only for a test server).
* ``timeout``: seconds to wait for the server (default 30).

Event ids are iCalendar UIDs. One occurrence of a recurring series has the id
``<uid>/<recurrence-id>`` (``20261015T080000Z`` for a timed series, in UTC;
``20261015`` for an all-day one) and ``recurring_id`` set to the series' UID;
``get_event(<uid>)`` returns the series itself with its RRULE/EXDATE lines.

Listing asks the server for the events in the range with a time-range REPORT,
then expands recurring ones (RRULE, RDATE, EXDATE and overridden RECURRENCE-ID
instances) on this side with recurring-ical-events. The REPORT does not ask
for the server-side ``expand`` of RFC 4791: expanded answers come in UTC
without the series' RRULE and time zone (which ``Event.recurrence`` and
``Event.timezone`` report), Radicale ignores the request, and the local
expansion is correct on every server anyway. Datetimes come back in the
principal's zone; all-day events (DATE values) start and end at the
principal's local midnight; floating times are read in the principal's zone.

Free/busy: the principal's busy times come from their own events. Other
people's are asked of the server's scheduling outbox (RFC 6638) only when the
server announces ``calendar-auto-schedule``; Radicale does not support
scheduling, so there (and wherever the server does not know a person) other
attendees are left out of the answer rather than guessed.

Writes:

* ``create_event`` derives the UID and the resource name from the idempotency
  key and looks for that resource first; the PUT carries ``If-None-Match: *``,
  so a retried or concurrent create returns the event that exists.
* ``move_event`` sets DTSTART and DTEND (or DURATION, when the event is written
  with one) in the event's own time zone. For one occurrence of a series it
  writes an override instance (``RECURRENCE-ID``) and leaves the series alone;
  moving a whole series is refused, because its exceptions are keyed by the
  old times.
* ``cancel_event`` keeps the event with ``STATUS:CANCELLED`` (an occurrence:
  a cancelled override instance), so the change can be seen and undone.
* ``respond`` sets the PARTSTAT of the principal's ATTENDEE line (of the whole
  series, or of one occurrence through an override).

Changes are absolute (these times, this status, this answer), and one that is
already in place writes nothing, so a retried move, cancel or answer lands
once. Updates carry the ETag in ``If-Match``: when someone else changed the
event in between, nothing is overwritten and a ProviderError says so.

Invitations: attendee lines are written with ``SCHEDULE-AGENT=CLIENT``, so a
server with scheduling (RFC 6638, e.g. Nextcloud) does not invite on its own
and the tools mail the iTIP invitation (``sends_invitations`` is False). An
answer (``respond``) is stored in the principal's copy of the event; a
scheduling server may pass it on to the organizer as well. Radicale does not
schedule.
"""

from tools.providers.caldav.calendar import CalDAVCalendar, open_calendar
from tools.providers.caldav.client import CalDAVClient, CalDAVSettings
from tools.providers.caldav.mapping import parse_schedule_response

__all__ = [
    "CalDAVCalendar",
    "CalDAVClient",
    "CalDAVSettings",
    "open_calendar",
    "parse_schedule_response",
]
