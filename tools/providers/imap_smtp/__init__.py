"""Mail over IMAP and SMTP: any standard mailbox (Dovecot, Fastmail, a company server).

Reading, drafts and the sent copy go through IMAP; sending goes through SMTP
submission. An IMAP connection carries one command at a time, and the
provider is shared by threads (the mail desk, Slack DMs, the web inbox), so it
keeps a small pool: each operation borrows a connection of its own (opened on
first need, kept open and reused, reconnected once when the server dropped
it), and at most ``max_connections`` are open, because servers cap
connections per user (Dovecot allows 10 from one address). IDLE holds one
connection while it waits; the others keep serving.

Account settings (the principal's ``accounts.mail`` table):

* ``imap_host`` (required); ``imap_port`` (993 for ``ssl``, else 143);
  ``imap_security``: ``"ssl"`` (default), ``"starttls"`` or ``"none"``.
* ``smtp_host`` (default: ``imap_host``); ``smtp_port`` (587 for ``starttls``,
  465 for ``ssl``, 25 for ``none``); ``smtp_security``: ``"starttls"`` (default),
  ``"ssl"`` or ``"none"``.
* ``username`` (required) and ``password``, better ``password_env`` (an
  environment variable name) or ``password_file`` (a file holding it).
* ``smtp_username`` and ``smtp_password`` / ``smtp_password_env`` /
  ``smtp_password_file`` when SMTP logs in differently (default: the IMAP
  login); ``smtp_username = ""`` sends without AUTH (a trusted relay).
* ``address``: the From address (default: the principal's e-mail).
* ``folders``: server folder names, e.g. ``{inbox = "INBOX", sent = "Sent",
  drafts = "Drafts"}``. Unset ones are discovered by SPECIAL-USE (``\\Sent``,
  ``\\Drafts``) or common names, else ``Sent`` / ``Drafts``, created when first
  written to.
* ``ca_file``: a CA bundle (PEM) to trust, for servers with a private CA.
* ``timeout``: seconds to wait for a server (default 30).
* ``max_connections``: how many IMAP connections the provider may keep open
  at once (default 4); an operation waits for a free one.

Exactly once when sending: SMTP cannot deduplicate, so the Message-ID is
derived from the idempotency key and the Sent folder is the record. Before
sending, Sent is searched for that Message-ID; when it is there, its receipt
is returned and nothing is sent. After the server accepted the message, the
exact bytes are appended to Sent (flagged ``\\Seen``). The window that remains:
if the process dies (or IMAP fails) after the SMTP server accepted the message
but before the APPEND, a retry with the same key sends it a second time.

Bcc recipients are only in the SMTP envelope, never in the headers (the Sent
copy is exactly what recipients got); a draft keeps its Bcc header, as mail
clients do, so it can be finished later. Messages on the server that cannot be
read as e-mail are skipped with a warning, never breaking a listing.
"""

from tools.providers.imap_smtp.mailbox import ImapSmtpMail, open_mail
from tools.providers.imap_smtp.settings import Endpoint, ImapSmtpSettings

__all__ = ["Endpoint", "ImapSmtpMail", "ImapSmtpSettings", "open_mail"]
