"""The local SQLite address book and the contacts tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from toolkit import preview, run

import tools.contacts as contact_tools
from tools.base import ToolError, registry
from tools.context import ToolContext, Workspace
from tools.foundation.principals import Principal
from tools.providers.base import Contact, ContactsProvider, NotFound, ProviderError
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.contacts import LocalContacts


@pytest.fixture
def book(tmp_path: Path) -> Iterator[LocalContacts]:
    b = LocalContacts(tmp_path)
    yield b
    b.close()


@pytest.fixture
def ctx(tmp_path: Path, book: LocalContacts) -> Iterator[ToolContext]:
    p = Principal(id="ada", email="ada@example.com", timezone="Europe/Berlin")
    calendar = LocalCalendar(tmp_path, p)
    ws = Workspace(principal=p, root=tmp_path, calendar=calendar, mail=object(), contacts=book)
    yield ToolContext(principal=p, workspace=ws)
    calendar.close()


# ----------------------------------------------------------------- provider


def test_local_contacts_satisfies_the_protocol(book: LocalContacts) -> None:
    assert isinstance(book, ContactsProvider)


def test_find_matches_all_words_case_insensitively_across_fields(book: LocalContacts) -> None:
    book.upsert(Contact(name="Jürgen Müller", email="jm@bank.de", organisation="Hausbank AG"))
    book.upsert(
        Contact(name="Dana Smith", email="dana@acme.com", organisation="Acme", role="client")
    )
    book.upsert(Contact(name="Sam Acme-Jones", role="press"))
    assert [c.name for c in book.find("MÜLLER")] == ["Jürgen Müller"]
    assert [c.name for c in book.find("müller hausbank")] == ["Jürgen Müller"]
    assert [c.name for c in book.find("müller acme")] == []
    assert [c.name for c in book.find("acme")] == ["Dana Smith", "Sam Acme-Jones"]
    assert [c.name for c in book.find("DANA@ACME")] == ["Dana Smith"]
    assert [c.name for c in book.find("acme", role="press")] == ["Sam Acme-Jones"]
    assert len(book.find()) == 3 and len(book.find(limit=2)) == 2
    with pytest.raises(ProviderError, match="not a contact role"):
        book.find(role="boss")


def test_email_is_unique_ignoring_case_and_upsert_merges(book: LocalContacts) -> None:
    first = book.upsert(Contact(name="Dana Smith", email="Dana@Acme.com", role="client"))
    again = book.upsert(Contact(name="Dana Smith", email="dana@acme.com", phone="+1 555 0100"))
    assert again.id == first.id
    assert again.phone == "+1 555 0100"
    assert again.role == "client"  # 'other' does not erase a known role
    assert book.by_email("DANA@ACME.COM") == again
    assert len(book.find()) == 1


def test_contacts_without_email_can_coexist(book: LocalContacts) -> None:
    book.upsert(Contact(name="Front desk"))
    book.upsert(Contact(name="Driver"))
    assert len(book.find()) == 2
    assert book.by_email("") is None


def test_upsert_by_id_replaces_the_record_and_guards_addresses(book: LocalContacts) -> None:
    dana = book.upsert(Contact(name="Dana", email="dana@acme.com", phone="1"))
    sam = book.upsert(Contact(name="Sam", email="sam@acme.com"))
    changed = book.upsert(dana.model_copy(update={"phone": "", "role": "vendor"}))
    assert changed.id == dana.id and changed.phone == "" and changed.role == "vendor"
    with pytest.raises(ProviderError, match="already has the address"):
        book.upsert(sam.model_copy(update={"email": "DANA@acme.com"}))
    assert book.get(sam.id).email == "sam@acme.com"


def test_retried_add_with_the_same_key_lands_once(book: LocalContacts) -> None:
    a = book.upsert(Contact(name="Driver", notes="Black sedan"), "ledger-7")
    b = book.upsert(Contact(name="Driver", notes="Black sedan"), "ledger-7")
    assert a == b and len(book.find()) == 1
    assert b.notes == "Black sedan"


def test_unknown_id_is_not_found_and_data_survives_reopen(tmp_path: Path) -> None:
    b = LocalContacts(tmp_path)
    made = b.upsert(Contact(name="Dana", email="dana@acme.com", timezone="America/New_York"))
    with pytest.raises(NotFound, match="No contact with id 'nope'"):
        b.get("nope")
    b.close()
    b = LocalContacts(tmp_path)
    assert b.get(made.id) == made
    b.close()


# -------------------------------------------------------------------- tools


def test_contact_tools_declare_their_effects() -> None:
    tools = registry()
    assert tools["find_contact"].effect == "read"
    for name in ("add_contact", "update_contact"):
        assert tools[name].effect == "write" and tools[name].duty == "contacts"
    role = tools["find_contact"].openai_schema()["function"]["parameters"]["properties"]["role"]
    assert "press" in role["anyOf"][0]["enum"]


def test_find_contact_returns_plain_data(ctx: ToolContext, book: LocalContacts) -> None:
    book.upsert(Contact(name="Dana Smith", email="dana@acme.com", role="client"))
    book.upsert(Contact(name="Pat Press", email="pat@news.com", role="press"))
    assert [c["email"] for c in contact_tools.find_contact(ctx, role="press")] == ["pat@news.com"]
    assert contact_tools.find_contact(ctx, query="smith")[0]["role"] == "client"


def test_add_contact_validates_email_and_timezone(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="not an e-mail address like"):
        preview(ctx, "add_contact", name="Dana", email="dana at acme")
    with pytest.raises(ToolError, match="IANA time zone"):
        run(ctx, "add_contact", "k", name="Dana", timezone="EST5")
    with pytest.raises(ToolError, match="name is empty"):
        run(ctx, "add_contact", "k", name="  ")
    with pytest.raises(ToolError, match="role"):
        preview(ctx, "add_contact", name="Dana", role="boss")


def test_add_contact_preview_warns_about_an_existing_address(
    ctx: ToolContext, book: LocalContacts
) -> None:
    fresh = preview(ctx, "add_contact", name="Dana", email="dana@acme.com", role="client")
    assert fresh.summary == "Add contact 'Dana' <dana@acme.com>"
    assert fresh.details == {"E-mail": "dana@acme.com", "Role": "client"}
    assert fresh.warnings == []
    assert book.find() == []  # previewing changes nothing
    run(ctx, "add_contact", "k1", name="Dana", email="dana@acme.com", role="client")
    dup = preview(ctx, "add_contact", name="Dana S.", email="DANA@acme.com")
    assert dup.warnings == [
        "'Dana' <dana@acme.com> already has this address; the entry will be updated"
    ]


def test_update_contact_shows_changes_and_applies_only_given_fields(
    ctx: ToolContext, book: LocalContacts
) -> None:
    dana = book.upsert(Contact(name="Dana", email="dana@acme.com", phone="1", role="client"))
    p = preview(ctx, "update_contact", contact_id=dana.id, phone="+1 555 0100", notes="")
    assert p.summary == "Update contact 'Dana' <dana@acme.com>"
    assert p.details == {"Phone": "1 -> +1 555 0100"}
    out = run(ctx, "update_contact", "u", contact_id=dana.id, phone="+1 555 0100", role="vendor")
    assert out["phone"] == "+1 555 0100" and out["role"] == "vendor"
    assert out["email"] == "dana@acme.com" and out["name"] == "Dana"


def test_update_contact_errors_say_what_to_do(ctx: ToolContext, book: LocalContacts) -> None:
    dana = book.upsert(Contact(name="Dana", email="dana@acme.com"))
    book.upsert(Contact(name="Sam", email="sam@acme.com"))
    with pytest.raises(ToolError, match="Use find_contact"):
        run(ctx, "update_contact", "u", contact_id="nope", phone="2")
    with pytest.raises(ToolError, match="Nothing to change"):
        preview(ctx, "update_contact", contact_id=dana.id)
    assert preview(ctx, "update_contact", contact_id=dana.id, email="sam@acme.com").warnings == [
        "'Sam' <sam@acme.com> already has this address"
    ]
    with pytest.raises(ToolError, match="already has the address"):
        run(ctx, "update_contact", "u2", contact_id=dana.id, email="sam@acme.com")
