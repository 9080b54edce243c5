"""The HTTP API: what waits for approval, and deciding it, for other front ends.

``create_app(secretary)`` builds a FastAPI app over one :class:`~agent.runtime.Secretary`.
Every ``/v1`` endpoint needs a bearer token made with ``secretary serve token
create``. A token belongs to one principal and acts as one address: the
principal's own e-mail (role ``principal``) or one of their staff identities
(that staff member's role), so the same approval rules apply as on every
other channel (the actor is recorded as ``api:<address>``).

Only the SHA-256 of a token is stored, in the ``api_tokens`` table of the
shared database (``serve.sqlite`` in the data directory, or the shared schema
of ``SECRETARY_DATABASE_URL``). A token may carry an expiry (``token create
--expires 30d``); after it, and after a revocation, requests with it answer
401 with a sentence saying so. A proposal of another principal answers 404,
exactly like one that does not exist.

The interactive docs (``/docs``, Swagger UI, and ``/redoc``) load their scripts
and styles from the server itself (the assets ship with ``fastapi-offline``),
so they work without internet and no third-party host sees who reads them.
Browsers may call the API from other origins only when those origins are
listed in ``api_cors_origins`` (off by default; see :mod:`tools.foundation.settings`).

When the Slack bot runs over HTTP, its bolt app is put on this same app: Slack's
signed requests arrive at ``/slack/events`` (see :mod:`agent.channels.slack_app`),
so one web server on one port serves both.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from tools.foundation.db import Database, DatabaseError, migrate
from tools.foundation.errors import SecretaryError

if TYPE_CHECKING:
    from slack_bolt import App

    from agent.ledger import Proposal
    from agent.runtime import Secretary
    from tools.foundation.principals import Principal, Role

API_CHANNEL = "api"
"""The channel name decisions made through the API are recorded under."""

TOKEN_PREFIX = "sec_"
_LAST_USED_EVERY = timedelta(minutes=1)

TOKEN_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    address TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_tokens_by_principal ON api_tokens (principal);
"""


def _schema(db: Database) -> None:
    """Version 1: the token table (with ``rowid`` on PostgreSQL too, for insertion order)."""
    db.script(db.ddl(TOKEN_SCHEMA))


EXPIRY = "ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;"
"""Version 2: an optional moment after which the token is refused (ISO 8601, UTC)."""

MIGRATIONS: list[Any] = [_schema, EXPIRY]
"""Schema versions of the token table (``schema_migrations``, component ``serve``)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a token: the only form in which tokens are stored."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def api_role(principal: Principal, address: str) -> Role:
    """The role an API token acting as ``address`` holds for ``principal``."""
    return principal.role_of(API_CHANNEL, address)


@dataclass(frozen=True)
class ApiToken:
    """One issued token (never the secret itself)."""

    id: str
    principal: str
    address: str
    label: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    expires_at: str | None = None

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the token's expiry has passed (tokens without one never expire)."""
        if self.expires_at is None:
            return False
        return (now or _now()) >= datetime.fromisoformat(self.expires_at)

    @property
    def active(self) -> bool:
        """Whether requests with this token are accepted (neither revoked nor expired)."""
        return self.revoked_at is None and not self.expired()

    def to_json(self) -> dict[str, Any]:
        """The token's record for ``token list --json``."""
        return {
            "id": self.id,
            "principal": self.principal,
            "address": self.address,
            "label": self.label,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "expires_at": self.expires_at,
        }


def _token_from_row(row: dict[str, Any]) -> ApiToken:
    return ApiToken(
        id=row["id"],
        principal=row["principal"],
        address=row["address"],
        label=row["label"] or "",
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


class TokenStore:
    """API tokens in the shared database: SHA-256 digests, never the tokens."""

    def __init__(self, database: Database) -> None:
        """Open the store and bring its table up to date.

        Args:
            database: The shared database (``settings.storage(None).database("serve.sqlite")``).
        """
        self.database = database
        migrate(database, "serve", MIGRATIONS)

    def close(self) -> None:
        """Close the store's connections (they reopen on next use)."""
        self.database.close()

    def create(
        self,
        principal: str,
        address: str,
        label: str = "",
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        """Issue a new token; returns its record and the token (shown once, never stored).

        Args:
            principal: Whose proposals the token sees.
            address: The address it acts as.
            label: A note for ``token list``.
            expires_at: When it stops working (aware datetime); None: never.
        """
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expiry = _iso(expires_at.astimezone(UTC)) if expires_at is not None else None
        with self.database.transaction() as db:
            while True:
                tid = secrets.token_hex(4)
                if db.fetchone("SELECT id FROM api_tokens WHERE id = ?", (tid,)) is None:
                    break
            db.execute(
                "INSERT INTO api_tokens"
                " (id, principal, address, label, token_sha256, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tid, principal, address, label, token_digest(token), _iso(_now()), expiry),
            )
            row = db.fetchone("SELECT * FROM api_tokens WHERE id = ?", (tid,))
        assert row is not None
        return _token_from_row(row), token

    def list(self, principal: str | None = None) -> list[ApiToken]:
        """Every token (of one principal), oldest first."""
        sql, params = "SELECT * FROM api_tokens", []
        if principal is not None:
            sql += " WHERE principal = ?"
            params.append(principal)
        rows = self.database.fetchall(sql + " ORDER BY created_at, rowid", params)
        return [_token_from_row(r) for r in rows]

    def get(self, token_id: str) -> ApiToken | None:
        """One token's record by id."""
        row = self.database.fetchone(
            "SELECT * FROM api_tokens WHERE id = ?", (token_id.strip().lower(),)
        )
        return _token_from_row(row) if row else None

    def revoke(self, token_id: str) -> ApiToken | None:
        """Revoke a token at once; None when no token has that id. Revoking twice is harmless."""
        tid = token_id.strip().lower()
        with self.database.transaction() as db:
            db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (_iso(_now()), tid),
            )
            row = db.fetchone("SELECT * FROM api_tokens WHERE id = ?", (tid,))
        return _token_from_row(row) if row else None

    def lookup(self, token: str) -> ApiToken | None:
        """The record of a presented token (revoked ones too), or None when unknown."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = self.database.fetchone(
            "SELECT * FROM api_tokens WHERE token_sha256 = ?", (token_digest(token),)
        )
        if row is None:
            return None
        found = _token_from_row(row)
        now = _now()
        last = datetime.fromisoformat(found.last_used_at) if found.last_used_at else None
        if found.active and (last is None or now - last >= _LAST_USED_EVERY):
            # At most one write a minute per token, so reads stay reads.
            self.database.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (_iso(now), found.id)
            )
        return found


def open_token_store(secretary: Secretary) -> TokenStore:
    """The token store of a secretary's data directory or database."""
    return TokenStore(secretary.settings.storage(None).database("serve.sqlite"))


def issue_token(
    secretary: Secretary,
    principal: str | None,
    address: str | None,
    label: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Check who a new token acts as, then issue it.

    Args:
        secretary: The secretary whose principals and database are used.
        principal: The principal's id (default: the only or first one).
        address: The address the token acts as: the principal's e-mail (the
            default) or a staff identity's address.
        label: A note for ``token list`` (e.g. "phone").
        expires_at: When the token stops working; None: until revoked.

    Raises:
        SecretaryError: when the principal is unknown or the address is
            neither the principal nor one of their staff.
    """
    p = secretary.principal(principal)
    addr = (address or p.email).strip()
    role = api_role(p, addr)
    if role == "outsider":
        raise SecretaryError(
            f"{addr} is neither {p.name}'s e-mail ({p.email}) nor one of their staff "
            f'identities; add it under [[principals.identities]] (role = "staff") first.'
        )
    store = open_token_store(secretary)
    try:
        return store.create(p.id, addr, label, expires_at)
    finally:
        store.close()


# ------------------------------------------------------------------ API models


class ErrorOut(BaseModel):
    """An error: one sentence saying what went wrong and what to do."""

    detail: str = Field(description="What went wrong, as one sentence.")


class Health(BaseModel):
    """The server is up."""

    status: Literal["ok"] = "ok"


class ProposalOut(BaseModel):
    """A proposed action and what became of it (the stable proposal contract)."""

    id: str = Field(description="The proposal id (8 hex digits).")
    principal: str = Field(description="The principal the action is for.")
    thread: str = Field(description="The conversation the proposal came from.")
    tool: str = Field(description="The write tool that would run, e.g. send_email.")
    args: dict[str, Any] = Field(description="The arguments that run (edited ones after an edit).")
    proposed_args: dict[str, Any] = Field(description="The arguments as first proposed.")
    status: Literal["proposed", "approved", "rejected", "executed", "failed"] = Field(
        description="proposed (waiting), approved (running), rejected, executed or failed."
    )
    decision: str | None = Field(None, description="approve, edit, reject, respond or auto.")
    decided_by: str | None = Field(None, description="Who decided, as channel:address.")
    reason: str | None = Field(None, description="The reason given with a rejection.")
    idempotency_key: str | None = Field(None, description="The key that makes it run once.")
    result: Any = Field(None, description="What the action returned, once executed.")
    error: str | None = Field(None, description="Why the action failed, if it did.")
    summary: str = Field("", description="One line saying what the action does.")
    provenance: dict[str, Any] = Field(
        default_factory=dict, description="Where each argument came from."
    )
    created_at: str = Field(description="When it was proposed (ISO 8601, UTC).")
    decided_at: str | None = Field(None, description="When it was decided.")
    executed_at: str | None = Field(None, description="When it ran.")
    may_decide: bool = Field(
        description="Whether the caller's token may decide this proposal (role and policy)."
    )


class AuditEvent(BaseModel):
    """One entry of the append-only audit trail."""

    seq: int = Field(description="Position in the trail.")
    at: str = Field(description="When (ISO 8601, UTC).")
    event: str = Field(description="proposed, approved, edited, rejected, executed, ...")
    actor: str | None = Field(None, description="Who or what, as channel:address.")
    detail: Any = Field(None, description="Event details (arguments, result, reason).")


class ProposalDetail(ProposalOut):
    """A proposal with its approval card and audit events."""

    card: str = Field(description="The approval card as Markdown.")
    preview: dict[str, Any] = Field(
        default_factory=dict, description="The card's data: summary, details, body, warnings."
    )
    events: list[AuditEvent] = Field(default_factory=list, description="Oldest first.")


class DecisionIn(BaseModel):
    """A decision on one proposal."""

    kind: Literal["approve", "reject", "edit"] = Field(
        description="approve (run it as proposed), reject (do not run it) or edit (change "
        "arguments, then run it)."
    )
    reason: str | None = Field(
        None, max_length=4000, description="For reject: why (the secretary is told)."
    )
    args: dict[str, Any] | None = Field(
        None,
        description="For edit: the arguments to change, by name (others keep their proposed "
        'values), e.g. {"subject": "Budget, revised"}. A plain string for a list field is '
        "split at commas.",
    )


class DecisionOut(BaseModel):
    """What a decision did."""

    proposal: ProposalOut = Field(description="The proposal after the decision.")
    status: str = Field(description="The proposal's status now.")
    changed: bool = Field(
        description="Whether this request decided (or finished running) the proposal; false "
        "when it had been decided before and nothing was run again."
    )
    result: Any = Field(None, description="What the action returned, if it ran.")
    error: str | None = Field(None, description="Why the action failed, if it did.")
    notice: str | None = Field(
        None, description="A remark, e.g. that it was already decided, or that no model is set."
    )
    reply: str | None = Field(None, description="What the secretary said after the decision.")
    reply_error: str | None = Field(
        None, description="Why the secretary could not follow up (the decision still stands)."
    )
    settled: list[ProposalOut] = Field(
        default_factory=list, description="Proposals decided or run during this request."
    )
    pending: list[ProposalOut] = Field(
        default_factory=list, description="Proposals of the same thread still waiting."
    )


class WhoAmI(BaseModel):
    """Who a token acts as."""

    token_id: str = Field(description="The token's id (for `secretary serve token revoke`).")
    principal: str = Field(description="The principal the token belongs to.")
    address: str = Field(description="The address the token acts as.")
    role: str = Field(description="principal or staff (outsider once the identity is removed).")
    label: str = Field("", description="The token's label.")


# ------------------------------------------------------------------ the app


@dataclass(frozen=True)
class Caller:
    """The authenticated side of a request."""

    token: ApiToken
    principal: Principal

    @property
    def address(self) -> str:
        """The address the token acts as."""
        return self.token.address

    def may_decide(self, proposal: Proposal) -> bool:
        """Whether this caller may decide ``proposal``."""
        role = api_role(self.principal, self.address)
        return self.principal.may_approve(role, proposal.tool, self.address)


def _proposal_out(p: Proposal, caller: Caller) -> ProposalOut:
    return ProposalOut(**p.to_json(), may_decide=caller.may_decide(p))


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown, revoked or expired token."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such proposal for this token's principal."},
}


def create_app(secretary: Secretary, *, slack: App | None = None) -> FastAPI:
    """The HTTP API over one secretary (run it with uvicorn).

    Args:
        secretary: The secretary whose ledger and principals are served; it
            must stay open while the app runs.
        slack: The Slack bot's bolt app (:func:`agent.channels.slack_app.build_app`);
            when given, Slack's requests are taken at ``/slack/events`` of the
            same app, checked by their signatures instead of a token.

    Returns:
        The FastAPI application (OpenAPI at ``/openapi.json``, docs at ``/docs``).
    """
    from agent.approval import Decision, card_markdown, coerce_edit

    store = open_token_store(secretary)
    bearer = HTTPBearer(
        auto_error=False,
        description="A token from `secretary serve token create` (Authorization: Bearer sec_...).",
    )
    # FastAPIOffline serves /docs and /redoc with the assets in its package, not from a CDN.
    # No online validator either: Swagger UI would otherwise ask validator.swagger.io.
    app = FastAPIOffline(
        swagger_ui_parameters={"validatorUrl": None},
        title="Secretary",
        version="1",
        summary="List what waits for approval and decide it.",
        description=(
            "Every /v1 endpoint needs `Authorization: Bearer <token>`; create a token with "
            "`secretary serve token create --principal ID`. A token sees only its principal's "
            "proposals and decides with its address's role, as on every other channel."
        ),
    )
    app.state.secretary = secretary
    app.state.tokens = store
    origins = secretary.settings.api_cors_origins
    if origins:
        # Bearer tokens, never cookies: no credentials mode, only the two methods and
        # the headers the API reads.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )

    def unauthorized(detail: str) -> HTTPException:
        return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})

    presented = Depends(bearer)

    def caller(credentials: HTTPAuthorizationCredentials | None = presented) -> Caller:
        if credentials is None or not credentials.credentials.strip():
            raise unauthorized(
                "Send a token as 'Authorization: Bearer <token>'; create one with "
                "`secretary serve token create`."
            )
        try:
            token = store.lookup(credentials.credentials.strip())
        except DatabaseError as exc:
            raise HTTPException(503, str(exc)) from None
        if token is None:
            raise unauthorized(
                "This token is not known; create one with `secretary serve token create`."
            )
        if token.revoked_at is not None:
            raise unauthorized(
                f"This token was revoked at {token.revoked_at}; create a new one with "
                "`secretary serve token create`."
            )
        if token.expired():
            raise unauthorized(
                f"This token expired at {token.expires_at}; create a new one with "
                "`secretary serve token create` (--expires sets how long it lasts)."
            )
        try:
            principal = secretary.principal(token.principal)
        except SecretaryError:
            raise unauthorized(
                f"This token's principal '{token.principal}' no longer exists; revoke it."
            ) from None
        if principal.id != token.principal:
            raise unauthorized(
                f"This token's principal '{token.principal}' no longer exists; revoke it."
            )
        return Caller(token, principal)

    # Endpoint parameters use defaults, not Annotated aliases: with postponed
    # annotations FastAPI resolves names in the module, where local aliases are unknown.
    auth = Depends(caller)
    proposal_path = Path(description="The proposal id (8 hex digits).")

    def find(proposal_id: str, who: Caller) -> Proposal:
        """The caller's principal's proposal with exactly this id, else 404."""
        from agent.ledger import LedgerError

        try:
            p = secretary.ledger.get(proposal_id, who.principal.id)
        except LedgerError:
            p = None
        if p is None or p.id != proposal_id.lower() or p.principal != who.principal.id:
            raise HTTPException(404, f"No proposal '{proposal_id}'; see GET /v1/pending for ids.")
        return p

    def check_edit(p: Proposal, changes: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The edited arguments, checked as the runtime checks them; else 422 with the sentence."""
        from agent.approval import apply_edit
        from tools.base import ToolError, registry
        from tools.context import ToolContext

        spec = registry().get(p.tool)
        if spec is None:
            raise HTTPException(409, f"The tool {p.tool} no longer exists.")
        try:
            args = coerce_edit(spec.args_model.model_json_schema(), p.args, changes)
        except ValueError as exc:
            raise HTTPException(422, f"{exc} Nothing was changed.") from None
        ctx = ToolContext(
            principal=principal,
            workspace=secretary.workspace(principal),
            clock=secretary._clock,  # noqa: SLF001 - the same clock the decision uses
        )
        try:
            apply_edit(spec, p, args, ctx)
        except ToolError as exc:
            raise HTTPException(422, f"{exc}. Nothing was changed.") from None
        return args

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Whether the server is up (no token needed)."""
        return Health()

    @app.get("/v1/me", response_model=WhoAmI, responses=ERRORS, tags=["tokens"])
    def me(who: Caller = auth) -> WhoAmI:
        """Who this token acts as, and in which role."""
        return WhoAmI(
            token_id=who.token.id,
            principal=who.principal.id,
            address=who.address,
            role=api_role(who.principal, who.address),
            label=who.token.label,
        )

    @app.get("/v1/pending", response_model=list[ProposalOut], responses=ERRORS, tags=["approvals"])
    def pending(who: Caller = auth) -> list[ProposalOut]:
        """The token's principal's proposals waiting for a decision, oldest first."""
        return [_proposal_out(p, who) for p in secretary.pending(who.principal.id)]

    @app.get(
        "/v1/proposals/{proposal_id}",
        response_model=ProposalDetail,
        responses={**ERRORS, **NOT_FOUND},
        tags=["approvals"],
    )
    def proposal(proposal_id: str = proposal_path, who: Caller = auth) -> ProposalDetail:
        """One proposal with its approval card and audit events."""
        p = find(proposal_id, who)
        events = [
            AuditEvent(**{k: e[k] for k in ("seq", "at", "event", "actor", "detail")})
            for e in secretary.trail(who.principal.id, p.id)
        ]
        return ProposalDetail(
            **_proposal_out(p, who).model_dump(),
            card=card_markdown(p),
            preview=p.preview,
            events=events,
        )

    @app.post(
        "/v1/proposals/{proposal_id}/decision",
        response_model=DecisionOut,
        responses={
            **ERRORS,
            **NOT_FOUND,
            403: {"model": ErrorOut, "description": "This token may not decide this action."},
            409: {"model": ErrorOut, "description": "The proposal cannot be decided right now."},
            422: {
                "model": ErrorOut,
                "description": "The decision or the edited arguments are "
                "invalid; nothing was changed.",
            },  # fmt: skip
        },
        tags=["approvals"],
    )
    def decide(
        body: DecisionIn, proposal_id: str = proposal_path, who: Caller = auth
    ) -> DecisionOut:
        """Approve, reject or edit a proposal; an approved action runs once.

        Deciding a proposal that was decided before changes nothing and runs
        nothing again: the answer is 200 with ``changed: false`` and a notice.
        """
        from agent.runtime import Actor

        p = find(proposal_id, who)
        allowed = who.may_decide(p)
        if body.kind != "edit" and body.args:
            raise HTTPException(422, "Arguments go only with kind 'edit'; nothing was changed.")
        decision = Decision(kind=body.kind, text=body.reason)
        if body.kind == "edit":
            if not body.args:
                raise HTTPException(
                    422, "An edit needs 'args' with the arguments to change; nothing was changed."
                )
            # Someone who may not decide is refused (403) before the edit is looked at;
            # an edit of a proposal decided before is answered with the notice.
            args: dict[str, Any] = dict(p.args)
            if allowed and p.status == "proposed":
                args = check_edit(p, body.args, who.principal)
            decision = Decision(kind="edit", args=args, text=body.reason)
        try:
            reply = secretary.decide(
                p.id,
                decision,
                actor=Actor(API_CHANNEL, who.address),
                principal=who.principal.id,
            )
        except DatabaseError as exc:
            raise HTTPException(503, str(exc)) from None
        except SecretaryError as exc:
            raise HTTPException(403 if not allowed else 409, str(exc)) from None
        fresh = secretary.ledger.get(p.id, who.principal.id)
        return DecisionOut(
            proposal=_proposal_out(fresh, who),
            status=fresh.status,
            changed=any(s.id == p.id for s in reply.settled),
            result=fresh.result,
            error=fresh.error,
            notice=reply.notice,
            reply=reply.text,
            reply_error=reply.error,
            settled=[_proposal_out(s, who) for s in reply.settled],
            pending=[_proposal_out(x, who) for x in reply.pending],
        )

    @app.get("/v1/audit", response_model=list[ProposalOut], responses=ERRORS, tags=["approvals"])
    def audit(
        who: Caller = auth,
        limit: int = Query(50, ge=1, le=1000, description="How many proposals, newest first."),
    ) -> list[ProposalOut]:
        """The token's principal's proposals and what became of them, newest first."""
        rows = secretary.audit(who.principal.id)
        return [_proposal_out(p, who) for p in reversed(rows[-limit:])]

    if slack is not None:
        from agent.channels.slack_app import add_slack_route

        add_slack_route(app, slack)
    return app
