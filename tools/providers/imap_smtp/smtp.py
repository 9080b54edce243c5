"""Sending through SMTP submission: the envelope, the login, and what a refusal means.

SMTP cannot deduplicate, so :func:`submit` is called once per message by
:meth:`~tools.providers.imap_smtp.mailbox.ImapSmtpMail.send`, which keeps the
Sent folder as the record of what went out.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from tools.providers.base import OutgoingMessage, ProviderError
from tools.providers.imap_smtp.connections import _reason
from tools.providers.imap_smtp.settings import ImapSmtpSettings, scrub
from tools.providers.mime import bare_address, parse_addresses


def submit(
    settings: ImapSmtpSettings,
    tls: Callable[[], ssl.SSLContext],
    recipients: list[str],
    data: bytes,
) -> dict[str, tuple[int, bytes]]:
    """Submit ``data`` to the account's SMTP server; the recipients it refused (the others got it).

    With no recipients it only logs in, as a send would, and sends nothing.

    Raises:
        ProviderError: naming the SMTP server and what to change (nothing was sent).
    """
    ep = settings.smtp
    where = f"the SMTP server {ep.label}"
    timeout = settings.timeout
    try:
        smtp: smtplib.SMTP
        if ep.security == "ssl":
            smtp = smtplib.SMTP_SSL(ep.host, ep.port, timeout=timeout, context=tls())
        else:
            smtp = smtplib.SMTP(ep.host, ep.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if ep.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ProviderError(
                        f"The SMTP server {ep.label} does not offer STARTTLS; set "
                        'smtp_security = "ssl" (port 465), or "none" only for a trusted relay.'
                    )
                smtp.starttls(context=tls())
                smtp.ehlo()
            if ep.username:
                smtp.login(ep.username, ep.password)
            if not recipients:  # check_smtp: logging in was all that was asked
                return {}
            return smtp.sendmail(settings.address, recipients, data)
    except ProviderError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        text = (
            f"The SMTP server {ep.label} refused the login for {ep.username} "
            f"({_smtp_reply(exc)}); check the SMTP username and password in the mail "
            "account settings."
        )
    except smtplib.SMTPNotSupportedError as exc:
        text = f"The SMTP server {ep.label} cannot log in this way ({exc}); check smtp_security."
    except smtplib.SMTPRecipientsRefused as exc:
        text = (
            f"The SMTP server {ep.label} refused {refusals(exc.recipients)}; nothing was "
            "sent. Check the addresses."
        )
    except smtplib.SMTPSenderRefused as exc:
        text = (
            f"The SMTP server {ep.label} refused the sender {settings.address} "
            f"({_smtp_reply(exc)}); check the account's address. Nothing was sent."
        )
    except smtplib.SMTPResponseException as exc:
        later = " Try again later." if 400 <= exc.smtp_code < 500 else ""
        text = (
            f"The SMTP server {ep.label} did not take the message ({_smtp_reply(exc)}); "
            f"nothing was sent.{later}"
        )
    except ssl.SSLCertVerificationError as exc:
        text = (
            f"Cannot trust the certificate of {where} ({exc.verify_message or exc}); "
            "set ca_file to the CA that signed it, or fix the server's certificate."
        )
    except ssl.SSLError as exc:
        text = (
            f"The TLS handshake with {where} failed ({_reason(exc)}); check smtp_security "
            '("starttls" for port 587, "ssl" for port 465).'
        )
    except ConnectionRefusedError:
        text = (
            f"Cannot connect to {where}: connection refused. Check smtp_host and smtp_port "
            "and that the server is running."
        )
    except socket.gaierror as exc:
        text = f"Cannot find the SMTP server {ep.host} ({_reason(exc)}); check smtp_host."
    except TimeoutError:
        text = (
            f"The SMTP server {ep.label} did not answer within {timeout:g} seconds; "
            "the message may not have been sent. Try again later."
        )
    except (smtplib.SMTPException, OSError) as exc:
        text = f"Sending through {where} failed ({_reason(exc)}); try again later."
    raise ProviderError(scrub(settings, text))


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    reply = exc.smtp_error
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def refusals(refused: Mapping[str, Any]) -> str:
    """``a@x (550 5.1.1 User unknown), b@y (...)`` from smtplib's refusal dict."""
    parts = []
    for addr, reply in refused.items():
        if not (isinstance(reply, tuple) and len(reply) == 2):
            parts.append(addr)
            continue
        code, text = reply
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{addr} ({code} {' '.join(text.split())})")
    return ", ".join(parts)


def envelope(message: OutgoingMessage) -> list[str]:
    """Every recipient address (To, Cc and Bcc) once, bare and lowercase."""
    out: list[str] = []
    for addr in parse_addresses([*message.to, *message.cc, *message.bcc]):
        bare = bare_address(addr)
        if bare not in out:
            out.append(bare)
    return out
