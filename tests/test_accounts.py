"""Account settings are checked once, against one typed model per provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.foundation.principals import Principal
from tools.providers.accounts import (
    Account,
    CalDAVAccount,
    DuffelAccount,
    GoogleAccount,
    ImapAccount,
    LocalAccount,
    MicrosoftAccount,
    as_table,
    parse_account,
)
from tools.providers.base import ProviderError
from tools.workspace import open_mail


@pytest.mark.parametrize(
    ("table", "model"),
    [
        ({}, LocalAccount),
        ({"provider": "local"}, LocalAccount),
        ({"provider": "imap", "imap_host": "imap.example.com", "imap_port": 993}, ImapAccount),
        ({"provider": "caldav", "url": "https://dav.example.com/"}, CalDAVAccount),
        ({"provider": "gmail", "client_secrets": "c.json"}, GoogleAccount),
        ({"provider": "google", "calendar_id": "team"}, GoogleAccount),
        ({"provider": "microsoft", "client_id": "abc", "scopes": ["Mail.Send"]}, MicrosoftAccount),
        ({"provider": "duffel", "token_env": "DUFFEL_TOKEN"}, DuffelAccount),
    ],
)
def test_each_provider_has_its_own_model_and_the_table_keeps_its_shape(
    table: dict[str, object], model: type[Account]
) -> None:
    account = parse_account("mail", table | {"note": "kept"})
    assert type(account) is model
    assert account.table() == table | {"note": "kept"}
    assert as_table(account) == table | {"note": "kept"}


def test_a_setting_of_the_wrong_type_is_one_sentence_naming_it() -> None:
    with pytest.raises(ProviderError) as info:
        parse_account("mail", {"provider": "imap", "imap_port": [993]})
    message = str(info.value)
    assert message.startswith("The mail account's setting imap_port is not valid (")
    assert message.endswith("correct it in the principal's accounts in secretary.toml.")
    assert "[993]" not in message  # the value itself (perhaps a secret) is never quoted


def test_a_secret_is_read_from_the_variable_the_model_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUFFEL_TEST_TOKEN", "duffel_test_secret")
    account = DuffelAccount.of({"provider": "duffel", "token_env": "DUFFEL_TEST_TOKEN"})
    assert account.secret("token") == "duffel_test_secret"
    assert "duffel_test_secret" not in repr(account)
    assert DuffelAccount.of(account) is account


def test_the_workspace_checks_the_table_before_the_provider_opens(tmp_path: Path) -> None:
    principal = Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        accounts={"mail": {"provider": "gmail", "address": 42}},
    )
    with pytest.raises(ProviderError, match="The mail account's setting address is not valid"):
        open_mail(principal, tmp_path)
