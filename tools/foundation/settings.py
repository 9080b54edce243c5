"""One typed Settings for the whole secretary.

Values come, in this order of precedence, from: keyword arguments, the
environment (``SECRETARY_*``, plus the standard ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL``), and the optional ``secretary.toml`` in the data
directory (or the file named by ``SECRETARY_CONFIG``). Principals live in that
TOML file under ``[[principals]]``; ``secretary init`` writes them there.

This module is the one place that reads the environment. Code built without a
``Settings`` (a store opened from its folder, the embedding model Chroma
rebuilds from a collection's stored configuration) asks :func:`environment`,
which reads the same variables at the moment it is called; a secret named by an
account (``password_env = "ADA_IMAP_PASSWORD"``) comes from :func:`env_value`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tools.foundation.paths import default_home, secure_home
from tools.foundation.principals import Principal

if TYPE_CHECKING:
    from tools.foundation.db import Storage


def config_path() -> Path:
    """Where the TOML settings file lives."""
    env = os.environ.get("SECRETARY_CONFIG")
    return Path(env).expanduser() if env else default_home() / "secretary.toml"


class Settings(BaseSettings):
    """Everything configurable about the secretary."""

    model_config = SettingsConfigDict(env_prefix="SECRETARY_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory.")
    model: str | None = Field(
        None, description="Chat model name; 'scripted' uses the built-in scripted model."
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "SECRETARY_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "SECRETARY_OPENAI_BASE_URL")
    )
    model_timeout: float = Field(60.0, description="Seconds before a model call gives up.")
    model_max_retries: int = Field(3, description="Retries on 429/5xx with backoff.")
    temperature: float | None = None
    max_steps: int = Field(12, description="Plan steps per request before stopping.")
    embedding_model: str | None = Field(
        None,
        description="Embeddings for memory: empty/'local' = the shipped MiniLM; any other "
        "name = that model on the OpenAI-compatible endpoint.",
    )
    database_url: str | None = Field(
        None,
        description="postgresql://user:password@host:port/db puts the checkpoints, the ledger "
        "and every local store in PostgreSQL; empty = SQLite files in the data directory.",
    )
    chroma_url: str | None = Field(
        None,
        description="http://host:port of a Chroma server for memory's vectors; empty = "
        "embedded Chroma in the data directory.",
    )
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins (https://app.example.com) whose pages may call the HTTP API "
        "from a browser; empty = none (no CORS headers). A list in secretary.toml, commas "
        "in SECRETARY_API_CORS_ORIGINS.",
    )
    # Slack: the app's credentials, under the names Slack's own pages and tools use.
    slack_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "SECRETARY_SLACK_BOT_TOKEN"),
        description="Bot User OAuth Token (xoxb-...) from the app's 'OAuth & Permissions' page.",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "SECRETARY_SLACK_APP_TOKEN"),
        description="App-Level Token (xapp-..., scope connections:write) for Socket Mode.",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "SECRETARY_SLACK_SIGNING_SECRET"),
        description="Signing Secret (Basic Information page) that HTTP requests are checked with.",
    )
    slack_api_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_API_URL", "SECRETARY_SLACK_API_URL"),
        description="Another Slack Web API base (a stand-in); empty = Slack's own.",
    )
    principals: list[Principal] = Field(default_factory=list)

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", mode="before")
    @classmethod
    def _blank_slack_is_none(cls, v: Any) -> Any:
        return (v.strip() or None) if isinstance(v, str) else v

    @field_validator("openai_api_key", "slack_bot_token", "slack_app_token", "slack_signing_secret")
    @classmethod
    def _mask_in_log(cls, v: SecretStr | None) -> SecretStr | None:
        # A server that echoes the key back in an error must not put it in the log.
        from tools.foundation.logs import remember_secret

        remember_secret(v.get_secret_value() if v else None)
        return v

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [part for part in v.split(",") if part.strip()]
        if not isinstance(v, list):
            return v
        return [_origin(str(item)) for item in v]

    @field_validator("database_url", "chroma_url", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "SECRETARY_DATABASE_URL must be a postgresql://user:password@host:port/database "
                "URL (leave it empty for SQLite files in the data directory)"
            )
        return v

    @field_validator("chroma_url")
    @classmethod
    def _http_only(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(
                "SECRETARY_CHROMA_URL must be an http://host:port URL of a Chroma server "
                "(leave it empty for embedded Chroma in the data directory)"
            )
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then environment, then ``secretary.toml``."""
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )

    @property
    def model_configured(self) -> bool:
        """Whether a chat model is attached."""
        return bool(self.model)

    def ensure_home(self) -> Path:
        """Create the data directory, or make an existing one private, and return it.

        Raises:
            NotPrivateError: when the folder cannot be made private (see
                :func:`tools.foundation.paths.secure_home`).
        """
        return secure_home(self.home)

    def storage(self, principal: str | None = None) -> Storage:
        """Where a principal's tables live (``None``: the tables shared by all)."""
        from tools.foundation.db import Storage

        if principal is None:
            return Storage(self.ensure_home(), self.database_url)
        folder = self.ensure_home() / "principals" / principal
        folder.mkdir(parents=True, exist_ok=True)
        return Storage.for_principal(folder, principal, self.database_url)

    def principal(self, pid: str | None = None) -> Principal:
        """The principal with that id; default the first (or a default profile)."""
        if not self.principals:
            if pid not in (None, "me"):
                raise KeyError(f"No principal '{pid}'. Create one with: secretary init --id {pid}")
            return Principal()
        if pid is None:
            return self.principals[0]
        for p in self.principals:
            if p.id == pid:
                return p
        known = ", ".join(p.id for p in self.principals)
        raise KeyError(f"No principal '{pid}' (known: {known}).")


def _origin(text: str) -> str:
    """One CORS origin, normalised (scheme://host[:port]); a sentence for anything else."""
    from urllib.parse import urlsplit

    value = text.strip().rstrip("/")
    if value == "*":
        raise ValueError(
            "SECRETARY_API_CORS_ORIGINS lists origins one by one; '*' (every web page) is "
            "not allowed, name each origin, e.g. https://app.example.com"
        )
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        parts = parts._replace(netloc="")
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or (parts.path or parts.query or parts.fragment or parts.username)
    ):
        raise ValueError(
            f"'{text.strip()}' is not a web origin; write scheme, host and optional port "
            "only, e.g. https://app.example.com or http://localhost:3000"
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class Environment(BaseSettings):
    """The variables read by code that was not handed a :class:`Settings`.

    Read afresh by :func:`environment` each time, so a variable set while the
    process runs (a test, a benchmark choosing its thread count) counts.
    """

    model_config = SettingsConfigDict(env_prefix="SECRETARY_", extra="ignore")

    database_url: str | None = Field(
        None, description="As Settings.database_url, for stores opened from a folder."
    )
    embedding_model_dir: str = Field(
        "", description="A directory with tokenizer.json and model.onnx for the local embedder."
    )
    embedding_threads: str = Field(
        "", description="CPU threads for the local embedder (empty: ONNX Runtime's choice)."
    )
    openai_base_url: str = Field(
        "", validation_alias=AliasChoices("OPENAI_BASE_URL", "SECRETARY_OPENAI_BASE_URL")
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("embedding_model_dir", "embedding_threads", "openai_base_url")
    @classmethod
    def _stripped(cls, v: str) -> str:
        return v.strip()


def environment() -> Environment:
    """The environment variables of :class:`Environment`, as they are now."""
    return Environment()


def env_value(name: str) -> str:
    """The value of the environment variable ``name`` (an account's ``*_env``), or ''."""
    return os.environ.get(name, "")


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from keyword overrides, environment and TOML."""
    return Settings(**overrides)


def save_principal(principal: Principal, path: Path | None = None) -> Path:
    """Create or replace one principal in the TOML file, keeping everything else."""
    import tomli_w

    path = path or config_path()
    data: dict[str, Any] = {}
    if path.exists():
        data = tomllib.loads(path.read_text())
    plist = [p for p in data.get("principals", []) if p.get("id") != principal.id]
    new = principal.model_dump(mode="json", exclude_none=True)
    old = next((p for p in data.get("principals", []) if p.get("id") == principal.id), None)
    if old is not None:
        idx = data["principals"].index(old)
        plist.insert(idx, new)
    else:
        plist.append(new)
    data["principals"] = plist
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
