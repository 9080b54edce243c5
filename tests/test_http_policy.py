"""The one retry policy of the web providers: Retry-After, backoff, budget, the final sentence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tools.providers.base import ProviderError
from tools.providers.http import (
    RETRY_STATUSES,
    Retry,
    RetryPolicy,
    backoff,
    retry_after,
    worth_retrying,
)

BUSY = "Example API is limiting requests; wait a minute and try again."


def failing(times: int, wait: float | None = None) -> tuple[list[int], Callable[[], str]]:
    """An attempt that fails ``times`` times (asking for ``wait``), then answers "ok"."""
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retry(ProviderError(BUSY), wait=wait)
        return "ok"

    return calls, attempt


def test_retry_after_is_read_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 27, 58, tzinfo=ZoneInfo("UTC"))
    assert retry_after("7") == 7.0
    assert retry_after(" 1.5 ") == 1.5
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 2.0
    assert retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0  # already past
    assert retry_after(None) is None and retry_after("") is None and retry_after("soon") is None


def test_the_retry_set_and_what_a_request_not_safe_to_repeat_may_retry() -> None:
    assert RETRY_STATUSES == {429, 500, 502, 503, 504}
    assert all(worth_retrying(s) for s in (429, 500, 502, 503, 504))
    assert not any(worth_retrying(s) for s in (400, 401, 403, 404, 409, 501))
    assert worth_retrying(429, repeatable=False) and worth_retrying(503, repeatable=False)
    assert not worth_retrying(500, repeatable=False)
    assert not worth_retrying(502, repeatable=False)


def test_retry_after_is_waited_exactly_then_the_answer_returns() -> None:
    waits: list[float] = []
    calls, attempt = failing(2, wait=3.0)
    assert RetryPolicy("Example API").call(attempt, "list", sleep=waits.append) == "ok"
    assert waits == [3.0, 3.0] and len(calls) == 3


def test_without_retry_after_the_backoff_grows_with_jitter() -> None:
    waits: list[float] = []
    _, attempt = failing(3)
    assert RetryPolicy("Example API").call(attempt, "list", sleep=waits.append) == "ok"
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4
    assert all(0 < backoff(n) <= 30 for n in range(1, 20))


def test_attempts_exhausted_raise_the_failure_as_one_sentence() -> None:
    waits: list[float] = []
    calls, attempt = failing(100, wait=1.0)
    with pytest.raises(ProviderError) as info:
        RetryPolicy("Example API", attempts=3).call(attempt, "list", sleep=waits.append)
    assert str(info.value) == BUSY and str(info.value).count(". ") == 0
    assert not isinstance(info.value, Retry)
    assert len(calls) == 3 and waits == [1.0, 1.0]


def test_the_wait_budget_stops_retries_before_it_is_spent() -> None:
    waits: list[float] = []
    calls, attempt = failing(100, wait=4.0)
    with pytest.raises(ProviderError, match="^Example API is limiting requests"):
        RetryPolicy("Example API", attempts=50, budget=10.0).call(
            attempt, "list", sleep=waits.append
        )
    assert waits == [4.0, 4.0] and len(calls) == 3


def test_a_wait_longer_than_accepted_fails_at_once_with_a_sentence() -> None:
    waits: list[float] = []
    calls, attempt = failing(1, wait=3600.0)
    with pytest.raises(ProviderError) as info:
        RetryPolicy("Example API", max_wait=60.0).call(attempt, "list", sleep=waits.append)
    assert str(info.value) == (
        "Example API asked to wait 3600 seconds before the next request; try again later."
    )
    assert waits == [] and len(calls) == 1


def test_other_errors_are_not_retried() -> None:
    waits: list[float] = []
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise ProviderError("Example API refused the request (HTTP 400): bad date.")

    with pytest.raises(ProviderError, match="HTTP 400"):
        RetryPolicy("Example API").call(attempt, "list", sleep=waits.append)
    assert waits == [] and len(calls) == 1
