"""The CalDAV client: account settings, the connection, discovery of the calendar, requests.

One :class:`CalDAVClient` talks to one server for one account: it opens the
HTTP session on first use, finds (or creates) the calendar the settings name,
sends REPORT/GET/PUT requests with the ETag preconditions, and turns the
library's and the network's failures into sentences that say what to check,
never with the password in them. What the answers mean as events is
:mod:`tools.providers.caldav.mapping`'s part.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import caldav
import icalendar
import requests
from caldav.davclient import DAVResponse
from caldav.elements import cdav, dav
from caldav.lib import error as dav_error
from caldav.lib.url import URL
from lxml import etree

from tools.providers.accounts import account_secret
from tools.providers.base import NotFound, ProviderError
from tools.providers.caldav.mapping import Resource
from tools.providers.calendar_rules import no_such_event

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

DEFAULT_NAME = "Secretary"
DEFAULT_TIMEOUT = 30.0
_OK = (200, 201, 204)


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class CalDAVSettings:
    """An account's settings, checked (the password never appears in a repr)."""

    url: str
    username: str
    password: str = field(repr=False)
    calendar: str = ""
    address: str = ""
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def label(self) -> str:
        """``host:port`` of the server, for messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    @classmethod
    def from_account(cls, account: Mapping[str, Any], principal: Principal) -> CalDAVSettings:
        """Read and check the account table; secrets via :func:`account_secret`.

        Raises:
            ProviderError: naming the first setting that is missing or wrong.
        """
        url = _text(account, "url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                "The calendar account's url must be the CalDAV server's address, like "
                "https://cloud.example.com/remote.php/dav; set it in the principal's "
                "accounts.calendar settings."
            )
        # Credentials written into the URL would end up in messages; they belong in
        # username and password, so the URL keeps only host, port and path.
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        username = _text(account, "username")
        if not username:
            raise ProviderError(
                "The calendar account has no username; add the CalDAV login name to the "
                "principal's accounts.calendar settings."
            )
        password = account_secret(account, "password")
        verify: bool | str = True
        ca_file = _text(account, "ca_file")
        if ca_file:
            path = Path(ca_file).expanduser()
            if not path.is_file():
                raise ProviderError(
                    f"The calendar account's ca_file {ca_file} does not exist; "
                    "point it at a PEM CA bundle."
                )
            verify = str(path)
        elif account.get("verify") is False:
            verify = False
        raw_timeout = account.get("timeout", DEFAULT_TIMEOUT)
        try:
            timeout = float(raw_timeout)
            if timeout <= 0 or isinstance(raw_timeout, bool):
                raise ValueError
        except (TypeError, ValueError):
            raise ProviderError(
                f"The calendar account's timeout {raw_timeout!r} must be a positive number "
                "of seconds."
            ) from None
        return cls(
            url=url,
            username=username,
            password=password,
            calendar=_text(account, "calendar"),
            address=_text(account, "address") or principal.email,
            verify=verify,
            timeout=timeout,
        )


def _text(account: Mapping[str, Any], key: str) -> str:
    value = account.get(key, "")
    return value.strip() if isinstance(value, str) else ""


class CalDAVClient:
    """The connection to one CalDAV account and the calendar it uses there."""

    def __init__(self, settings: CalDAVSettings) -> None:
        """Prepare the client; nothing is sent before the first request.

        Args:
            settings: The checked account settings.
        """
        self.settings = settings
        self._lock = threading.Lock()
        self._dav: caldav.DAVClient | None = None
        self._calendar: caldav.Calendar | None = None
        self._hrefs: dict[str, str] = {}
        """UID -> resource URL, as last seen (other clients name resources freely)."""

    def close(self) -> None:
        """Release the HTTP connections."""
        if self._dav is not None:
            self._dav.close()
            self._dav = None
            self._calendar = None

    # ------------------------------------------------------------- server

    def _client(self) -> caldav.DAVClient:
        if self._dav is None:
            self._dav = caldav.DAVClient(
                url=self.settings.url,
                username=self.settings.username,
                password=self.settings.password,
                # requests takes fractions too; the library's hint says int.
                timeout=math.ceil(self.settings.timeout),
                ssl_verify_cert=self.settings.verify,
            )
        return self._dav

    def _cal(self) -> caldav.Calendar:
        """The calendar in use, found (or created) on first use."""
        with self._lock:
            if self._calendar is None:
                self._calendar = self._discover()
            return self._calendar

    def _url(self, name: str = "") -> str:
        """The calendar's URL, or that of the resource ``name`` in it."""
        url = self._cal().url
        assert url is not None  # a discovered calendar always has one
        return str(url.join(name)) if name else str(url)

    def _discover(self) -> caldav.Calendar:
        client = self._client()
        wanted = self.settings.calendar
        if wanted.startswith(("/", "http://", "https://")):
            cal = caldav.Calendar(client, url=client.url.join(wanted))
            resp = self._request(
                "PROPFIND",
                str(cal.url),
                "open the calendar",
                '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/>'
                "</D:prop></D:propfind>",
                {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
            )
            if resp.status != 404:
                self._check(resp, "open the calendar", ok=(207,))
            tree = resp.tree if resp.status != 404 else None
            if tree is None or tree.find(".//{urn:ietf:params:xml:ns:caldav}calendar") is None:
                raise ProviderError(
                    f"There is no calendar at {wanted} on {self.settings.label}; check the "
                    "calendar setting of the principal's accounts.calendar."
                )
            return cal
        with self._talking("find the principal's calendars"):
            principal = client.principal()
            calendars = principal.calendars()
        if wanted:
            for cal in calendars:
                name = self._name_of(cal)
                if wanted.lower() in (name.lower(), str(cal.url).rstrip("/").rsplit("/", 1)[-1]):
                    return cal
            names = ", ".join(f"'{self._name_of(c)}'" for c in calendars) or "none"
            raise ProviderError(
                f"{self.settings.username} has no calendar named '{wanted}' on "
                f"{self.settings.label} (calendars: {names}); fix the calendar setting."
            )
        for cal in calendars:
            with self._talking("read the calendar's settings"):
                try:
                    kinds = cal.get_supported_components()
                except (KeyError, dav_error.DAVError):
                    kinds = []  # the property is optional: such a calendar takes anything
            if not kinds or "VEVENT" in kinds:
                return cal
        with self._talking(f"create the calendar '{DEFAULT_NAME}'"):
            try:
                return principal.make_calendar(
                    name=DEFAULT_NAME,
                    cal_id="secretary",
                    supported_calendar_component_set=["VEVENT"],
                )
            except dav_error.MkcalendarError:
                # Another process may have just made it; use it if it is there now.
                for cal in principal.calendars():
                    if str(cal.url).rstrip("/").endswith("/secretary"):
                        return cal
                raise

    def _name_of(self, cal: caldav.Calendar) -> str:
        with self._talking("read the calendar's name"):
            return str(cal.get_display_name() or "")

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> DAVResponse:
        with self._talking(what):
            return self._client().request(url, method, body, dict(headers or {}))

    def _check(self, resp: DAVResponse, what: str, ok: tuple[int, ...] = _OK) -> None:
        if resp.status in ok:
            return
        if resp.status == 412:
            raise ProviderError(
                f"The event changed on {self.settings.label} while trying to {what}, so "
                "nothing was overwritten; read it again and retry."
            )
        if resp.status == 404:
            raise ProviderError(
                f"{self.settings.label} has no such calendar or event (404) while trying to "
                f"{what}; check the calendar setting of the principal's accounts.calendar."
            )
        raise ProviderError(
            self._scrub(
                f"The CalDAV server {self.settings.label} refused to {what} "
                f"({resp.status} {resp.reason}); try again later."
            )
        )

    def _talking(self, what: str) -> _Talking:
        return _Talking(self, what)

    def _error(self, exc: BaseException, what: str) -> ProviderError:
        """A sentence for a failure while talking to the server (never with the password)."""
        where = self.settings.label
        user = self.settings.username
        if isinstance(exc, dav_error.AuthorizationError):
            if "forbidden" in str(exc.reason).lower():
                text = (
                    f"The CalDAV server {where} does not let {user} {what}; check the "
                    "calendar setting and the user's rights on the server."
                )
            else:
                text = (
                    f"The CalDAV server {where} refused the login of {user}: the user name "
                    "or password is wrong. Check the username and the password "
                    "(password_env or password_file) of the principal's accounts.calendar."
                )
        elif isinstance(exc, dav_error.NotFoundError):
            text = (
                f"The CalDAV server {where} has nothing at the account's url while trying to "
                f"{what}; check the url of the principal's accounts.calendar."
            )
        elif isinstance(exc, requests.exceptions.SSLError):
            text = (
                f"Cannot make a secure connection to {where} ({_reason(exc)}). If the server "
                "uses a private CA, set ca_file to its certificate (PEM)."
            )
        elif isinstance(exc, requests.exceptions.Timeout):
            text = (
                f"The CalDAV server {where} did not answer within "
                f"{self.settings.timeout:g} seconds while trying to {what}; try again later."
            )
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = (
                f"Cannot connect to the CalDAV server {where} to {what} ({_reason(exc)}); "
                "check the account's url and that the server is running."
            )
        elif isinstance(exc, dav_error.DAVError):
            text = (
                f"The CalDAV server {where} refused to {what} ({exc.reason}); "
                "try again later or check the principal's accounts.calendar."
            )
        else:
            text = (
                f"Talking to the CalDAV server {where} failed while trying to {what} "
                f"({type(exc).__name__}); try again later."
            )
        return ProviderError(self._scrub(text))

    def _scrub(self, text: str) -> str:
        password = self.settings.password
        if password:
            text = text.replace(password, "***").replace(quote(password, safe=""), "***")
        return text

    def _not_found(self, event_id: str) -> NotFound:
        return no_such_event(event_id, self.settings.label)

    # ------------------------------------------------------------- resources

    def _report(self, query: str, what: str) -> list[Resource]:
        base = self._url()
        resp = self._request(
            "REPORT",
            base,
            what,
            query,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        self._check(resp, what, ok=(207,))
        with self._talking(what):
            found = resp.expand_simple_props([cdav.CalendarData(), dav.GetEtag()])
        out: list[Resource] = []
        for href, props in found.items():
            data = props.get(cdav.CalendarData.tag)
            if not data:
                continue
            url = str(URL.objectify(base).join(quote(href)))
            if url.rstrip("/") == base.rstrip("/"):
                continue  # some servers list the collection itself
            try:
                parsed = icalendar.Calendar.from_ical(data)
            except ValueError as exc:
                log.warning("Skipping %s: not readable as iCalendar (%s)", href, exc)
                continue
            res = Resource(url, str(props.get(dav.GetEtag.tag) or ""), parsed)
            for comp in res.events:
                self._hrefs[str(comp.get("UID", ""))] = url
            out.append(res)
        return out

    def _fetch(self, href: str) -> Resource | None:
        """The resource at ``href``, or None when there is none."""
        resp = self._request("GET", href, "read the event", headers={"Accept": "text/calendar"})
        if resp.status == 404:
            return None
        self._check(resp, "read the event", ok=(200,))
        try:
            parsed = icalendar.Calendar.from_ical(body_of(resp))
        except ValueError:
            raise ProviderError(
                f"The event at {href} on {self.settings.label} is not valid iCalendar; "
                "fix or remove it with another calendar client."
            ) from None
        return Resource(href, etag_of(resp), parsed)

    def _update(self, res: Resource, what: str) -> None:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if res.etag:
            headers["If-Match"] = res.etag
        resp = self._request("PUT", res.href, what, res.cal.to_ical().decode(), headers)
        self._check(resp, what)
        res.etag = etag_of(resp)


class _Talking:
    """Turns the library's and the network's exceptions into ProviderError sentences."""

    def __init__(self, owner: CalDAVClient, what: str) -> None:
        self.owner = owner
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(
            exc, (dav_error.DAVError, requests.exceptions.RequestException, etree.LxmlError)
        ):
            raise self.owner._error(exc, self.what) from None


def body_of(resp: DAVResponse) -> bytes:
    """The body of a response as the server sent it."""
    raw = resp._raw  # the body as received (``raw`` would re-serialise parsed XML)
    return raw if isinstance(raw, bytes) else str(raw).encode()


def etag_of(resp: DAVResponse) -> str:
    """The ETag a response carries ("" when the server sent none)."""
    return str(resp.headers.get("ETag", "") or "")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for known, short in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("No route to host", "no route to host"),
        ("CERTIFICATE_VERIFY_FAILED", "certificate not trusted"),
    ):
        if known in text:
            return short
    return type(exc).__name__
