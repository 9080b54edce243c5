"""Principals: the people the secretary works for, and who may act for them.

Everything the secretary stores is keyed by a principal's ``id``: the profile,
the threads, the ledger rows, the memory collection and the provider accounts.
A principal's workspace lives in its own directory under the data directory,
so one principal's thread cannot even name another's files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

Role = Literal["principal", "staff", "outsider"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
StaffApprovers = Literal["staff_may_approve", "press_approvers"]
"""Which staff, besides the principal, may decide a tool's proposals: those the principal's
``policy.staff_may_approve`` opens the tool to, or only the addresses in ``press.approvers``."""
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class ApprovalRule:
    """What a tool declares about its approval; the principal's policy works within it.

    Tools declare it on ``@tool`` (see :mod:`tools.base`); the rules reach this module through
    :func:`use_approval_rules`, so the foundation knows them without importing the duties.
    Importing :mod:`tools.base` installs them; every process with a gate or a settings check
    does so first (:mod:`agent.approval`, :mod:`agent.cli.common`).
    """

    auto_approve: bool = True
    """Whether standing policy (``policy.auto_approve``) may ever approve the tool."""
    staff: StaffApprovers = "staff_may_approve"
    """Which staff may decide it (the principal always may)."""


ORDINARY = ApprovalRule()
"""The rule of a tool that declares nothing special."""


def _undeclared(tool: str) -> ApprovalRule | None:
    return None


_rules: Callable[[str], ApprovalRule | None] = _undeclared


def use_approval_rules(rules: Callable[[str], ApprovalRule | None]) -> None:
    """Name where a tool's declared rule is looked up (the tool registry installs itself)."""
    global _rules
    _rules = rules


def approval_rule(tool: str) -> ApprovalRule:
    """The declared approval rule of ``tool`` (:data:`ORDINARY` for a tool nobody declared)."""
    return _rules(tool) or ORDINARY


def local_timezone() -> str:
    """Best guess of this machine's IANA zone name (``UTC`` when unknown)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _is_iana(tz):
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if _is_iana(name):
                return name
    except OSError:
        pass
    return "UTC"


def domain_packs() -> list[str]:
    """The industry packs shipped in prompts/domains (e.g. legal, medical)."""
    from importlib import resources

    folder = resources.files("prompts").joinpath("domains")
    return sorted(p.name.removesuffix(".md") for p in folder.iterdir() if p.name.endswith(".md"))


def _is_iana(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class WorkingHours(BaseModel):
    """When the principal works, in their own time zone."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working hours must end after they start (e.g. 09:00-17:00)")
        return self

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Parse ``"09:00-17:00"`` (optionally ``"09:00-17:00 mon-fri"``)."""
        m = re.fullmatch(
            r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+([a-z]{3})-([a-z]{3}))?\s*",
            text.lower(),
        )
        if not m:
            raise ValueError(f"'{text}' is not a range like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups()[:4])
        if not (0 <= h1 < 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
            raise ValueError(f"'{text}' has an impossible time")
        end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
        days: list[Weekday] = list(WEEKDAYS[:5])
        if m.group(5):
            a, b = m.group(5), m.group(6)
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"'{text}': days must be like mon-fri")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days = list(WEEKDAYS[i : j + 1])
        return cls(start=time(h1, m1), end=end, days=days)

    def label(self) -> str:
        """``09:00-17:00 mon-fri``."""
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.days[0]}-{self.days[-1]}"


class Policy(BaseModel):
    """What may happen without asking, and who may decide."""

    auto_approve: list[str] = Field(
        default_factory=list,
        description="Write tools that run without asking (keep this narrow, e.g. save_draft).",
    )
    staff_may_approve: list[str] = Field(
        default_factory=list,
        description="Write tools that assistant staff may approve for this principal.",
    )

    @field_validator("auto_approve")
    @classmethod
    def _never_auto(cls, v: list[str]) -> list[str]:
        never = sorted(t for t in set(v) if not approval_rule(t).auto_approve)
        if never:
            raise ValueError(
                f"{', '.join(never)} cannot be auto-approved: "
                f"{'it' if len(never) == 1 else 'each'} always needs a person's approval"
            )
        return v

    import_folders: list[str] = Field(
        default_factory=list,
        description="Folders whose files the secretary may file or read as invoices by path, "
        "besides paths you write in your own messages (e.g. ['~/Scans']). Empty by default: "
        "principals served from one account share its home folder. Never a data directory.",
    )

    @field_validator("import_folders")
    @classmethod
    def _absolute_folders(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for folder in v:
            text = folder.strip()
            expanded = os.path.expanduser(text)
            bad = "\0" in text or os.path.normpath(expanded) in ("/", "//")
            if bad or not os.path.isabs(expanded):
                raise ValueError(
                    f"import folder '{text[:200]}' must be the absolute path of a folder "
                    "(e.g. ~/Scans or /srv/inbox), not '/' or a relative path"
                )
            if text not in out:
                out.append(text)
        return out

    approval_channel: Literal["terminal", "email", "slack"] = Field(
        "terminal",
        description="Where approval requests go: the terminal (`secretary pending`), an "
        "e-mail to the principal (answered by reply), or the principal's Slack DM.",
    )


class TravelPreferences(BaseModel):
    """How the principal likes to travel; trip planning and booking start from these."""

    home_airport: str = Field("", description="IATA code of the usual departure airport (BER).")
    cabin: Literal["economy", "premium_economy", "business", "first"] = "economy"
    seat: Literal["aisle", "window", "any"] = "any"
    airlines: list[str] = Field(
        default_factory=list, description="Preferred airlines, IATA codes (LH, BA)."
    )
    hotel_chains: list[str] = Field(default_factory=list, description="Preferred hotel chains.")
    loyalty: dict[str, str] = Field(
        default_factory=dict,
        description="Programme -> member number, e.g. {'LH': '992001234567', 'Marriott': '1234'}.",
    )
    currency: str = Field("EUR", description="Currency of the budget limits (ISO 4217).")
    max_flight_price: Decimal | None = Field(None, description="Most a flight may cost.")
    max_hotel_night: Decimal | None = Field(None, description="Most a hotel night may cost.")
    given_name: str = Field("", description="As in the passport (for bookings).")
    family_name: str = Field("", description="As in the passport (for bookings).")
    born_on: str = Field("", description="Date of birth, YYYY-MM-DD (for bookings).")
    gender: Literal["", "f", "m", "x"] = ""
    title: Literal["", "mr", "ms", "mrs", "miss", "dr"] = ""
    phone: str = Field("", description="Phone number for the airline, international format.")
    travel_agent: str = Field(
        "", description="E-mail of the human travel agent the local provider writes to."
    )


class Embargo(BaseModel):
    """A fact that must not reach the press before a moment."""

    fact: str = Field(description="What is embargoed, in a sentence.")
    until: AwareDatetime = Field(description="When it may be said (ISO 8601 with offset).")
    keywords: list[str] = Field(
        default_factory=list,
        description="Words that give the fact away; none may appear in a press reply before "
        "the embargo lifts.",
    )


class PressPolicy(BaseModel):
    """What the secretary may say to journalists for the principal, and who approves it."""

    talking_points: list[str] = Field(default_factory=list)
    decline_topics: list[str] = Field(
        default_factory=list, description="Topics to decline politely ('no comment')."
    )
    embargoes: list[Embargo] = Field(default_factory=list)
    approvers: list[str] = Field(
        default_factory=list,
        description="Staff identities (e-mail or Slack id) who may approve press replies "
        "besides the principal. Press replies are never approved by standing policy.",
    )
    spokesperson: str = Field(
        "", description="Who journalists are referred to, if not the principal."
    )


class Identity(BaseModel):
    """A channel identity that speaks for or to a principal."""

    channel: Literal["terminal", "slack", "email"]
    address: str = Field(description="Slack user id, e-mail address, or OS user name")
    role: Role = "staff"
    name: str = ""


class Principal(BaseModel):
    """One employer of the secretary."""

    id: str = "me"
    name: str = "Me"
    email: str = "me@localhost"
    timezone: str = Field(default_factory=local_timezone)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    signature: str = ""
    organisation: str = ""
    domain_pack: str | None = None
    policy: Policy = Field(default_factory=Policy)
    identities: list[Identity] = Field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Provider per duty, e.g. {'mail': {'provider': 'local'}}.",
    )
    preferences: dict[str, Any] = Field(default_factory=dict)
    travel: TravelPreferences = Field(default_factory=TravelPreferences)
    press: PressPolicy = Field(default_factory=PressPolicy)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(
                f"principal id '{v}' must be lowercase letters, digits, '-' or '_' (max 40)"
            )
        return v

    @field_validator("domain_pack")
    @classmethod
    def _known_pack(cls, v: str | None) -> str | None:
        if v in (None, "", "general"):
            return None
        packs = domain_packs()
        if v not in packs:
            raise ValueError(f"unknown domain pack '{v}'; choose one of: {', '.join(packs)}")
        return v

    @field_validator("timezone")
    @classmethod
    def _iana(cls, v: str) -> str:
        if not _is_iana(v) or v not in available_timezones() | {"UTC"}:
            raise ValueError(
                f"'{v}' is not an IANA time zone name (e.g. Europe/Berlin, America/New_York)"
            )
        return v

    @property
    def tz(self) -> ZoneInfo:
        """The principal's time zone."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current time in the principal's zone."""
        return datetime.now(self.tz)

    def workdir(self, home: Path) -> Path:
        """The principal's own directory under the data directory."""
        path = home / "principals" / self.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def role_of(self, channel: str, address: str) -> Role:
        """The role a channel identity holds for this principal.

        An API token (channel ``api``) acts as the address it was issued for:
        the principal's own e-mail, or the address of one of their identities
        on any channel, with that identity's role.
        """
        if channel == "terminal":
            # Whoever runs the CLI on the data directory is the principal's own desk.
            return "principal"
        addr = address.strip().lower()
        if channel in ("email", "api") and addr == self.email.lower():
            return "principal"
        for ident in self.identities:
            if ident.address.lower() == addr and channel in (ident.channel, "api"):
                return ident.role
        return "outsider"

    def may_approve(self, role: Role, tool: str, address: str = "") -> bool:
        """Whether someone with ``role`` (at ``address``) may decide a proposal of ``tool``.

        The principal always may. Staff may when the tool's declared rule lets them: by default
        the tools ``policy.staff_may_approve`` lists; a press reply only the staff the press
        policy names.
        """
        if role == "principal":
            return True
        rule = approval_rule(tool)
        if rule.staff == "press_approvers":
            named = {a.strip().lower() for a in self.press.approvers}
            return role == "staff" and address.strip().lower() in named
        if role == "staff":
            return tool in self.policy.staff_may_approve
        return False

    def working_windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Working-hour intervals between two instants, DST-correct, in the principal's zone."""
        tz = self.tz
        day = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        out: list[tuple[datetime, datetime]] = []
        while day <= last:
            if WEEKDAYS[day.weekday()] in self.working_hours.days:
                a = datetime.combine(day, self.working_hours.start, tzinfo=tz)
                b = datetime.combine(day, self.working_hours.end, tzinfo=tz)
                a, b = max(a, start), min(b, end)
                if a < b:
                    out.append((a, b))
            day += timedelta(days=1)
        return out
