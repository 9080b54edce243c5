"""The one retry policy for the web APIs behind the providers (Google, Microsoft Graph, Duffel).

What is retried, and why:

* **429 Too Many Requests** and **503 Service Unavailable**: the server says it
  did not take the request and when to come back (``Retry-After``). Retrying
  these is safe for every request, even one that creates something.
* **500, 502, 504**: a server or gateway failed on the way. The request may
  have been carried out before the failure, so these are retried only for
  requests that are safe to repeat (reads, updates and deletes, or writes that
  look for their own earlier result before sending again).
* **Connection errors**: the request never reached the server (refused,
  unreachable, connect timed out), so another try cannot do anything twice.

Everything else (4xx, an answer that timed out half-way) is the caller's to
translate at once. Waits follow ``Retry-After`` (seconds or an HTTP date) when
the server sends one, else an exponential backoff with jitter (1, 2, 4 ... s,
each between half and all of that, at most 30 s). Each request has a budget:
a number of attempts and a total of seconds spent waiting. A single wait longer
than the policy accepts is not sat out; the request fails at once with a
sentence. When the budget runs out, the last failure's own sentence (what
failed, what to do) is raised, which each provider writes for that purpose.

The policy is built on tenacity; a provider runs one attempt of its request in
a function that returns the answer or raises :class:`Retry` with its failure.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

from tools.providers.base import ProviderError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth another try (see the module's text for why each)."""
NOT_TAKEN_STATUSES = frozenset({429, 503})
"""Answers that say the request was not carried out: safe to retry for any request."""
BACKOFF_CAP = 30.0
"""Longest backoff (seconds) between two tries when the server names no wait."""


def worth_retrying(status: int, *, repeatable: bool = True) -> bool:
    """Whether an answer with ``status`` deserves another try.

    Args:
        status: The HTTP status of the answer.
        repeatable: The request may be sent twice without doing its work twice.
    """
    return status in (RETRY_STATUSES if repeatable else NOT_TAKEN_STATUSES)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(attempt: int) -> float:
    """The jittered wait after the ``attempt``-th failed try (1-based), without a Retry-After."""
    return min(2.0 ** (attempt - 1), BACKOFF_CAP) * (0.5 + random.random() / 2)


class Retry(Exception):
    """Raised by one attempt whose failure deserves another try."""

    def __init__(self, failure: ProviderError, *, wait: float | None = None) -> None:
        """Carry the failure to raise if no try succeeds, and the wait the server asked for."""
        super().__init__(str(failure))
        self.failure = failure
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one service's requests are tried.

    Attributes:
        service: How the service is named in messages ("Gmail", "Microsoft Graph").
        attempts: Tries per request, the first included.
        max_wait: Longest single wait (seconds) worth sitting out.
        budget: Most seconds spent waiting, over all retries of one request.
    """

    service: str
    attempts: int = 5
    max_wait: float = 60.0
    budget: float = 180.0

    def call(
        self, attempt: Callable[[], T], what: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> T:
        """Run ``attempt`` until it returns, retrying each :class:`Retry` it raises.

        Args:
            attempt: Sends the request once; raises :class:`Retry` for a failure
                worth another try, any other error to stop at once.
            what: The request in words, for the log ("search mail").
            sleep: Waits the given seconds (tests record instead).

        Raises:
            ProviderError: the server asked for a wait longer than ``max_wait``, or
                the budget ran out (the last failure's own sentence).
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Retry),
            wait=self._wait,
            stop=self._stop,
            sleep=sleep,
            before_sleep=lambda state: log.info(
                "%s could not %s (attempt %d); retrying in %.1f s",
                self.service,
                what,
                state.attempt_number,
                state.upcoming_sleep,
            ),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Retry as exc:
            if exc.wait is not None and exc.wait > self.max_wait:
                raise ProviderError(
                    f"{self.service} asked to wait {exc.wait:.0f} seconds before the next "
                    "request; try again later."
                ) from None
            log.warning("%s could not %s; giving up: %s", self.service, what, exc.failure)
            raise exc.failure from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, Retry) and failure.wait is not None:
            return failure.wait
        return backoff(state.attempt_number)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        return (
            state.attempt_number >= self.attempts
            or state.upcoming_sleep > self.max_wait
            or state.idle_for + state.upcoming_sleep > self.budget
        )
