"""Declare, once, how surgad retries a database that went away for a moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
import tenacity

from surgad import logs

T = TypeVar("T")

# Errors worth another try: the server restarted, a connection dropped, SQLite
# was locked longer than its busy timeout. Anything else is a bug or bad data.
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)

MAX_WAIT_INTERVAL = 30.0
RETRY_ATTEMPTS = 3


def is_transient(error: BaseException) -> bool:
    """Tell whether an error means the database went away, not bad data."""
    if isinstance(error, TRANSIENT):
        return True
    return isinstance(error, sa.exc.DBAPIError) and bool(error.connection_invalidated)


def describe(error: BaseException) -> str:
    """Return the first line of an error, for a log event without a traceback."""
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__
FIRST_WAIT_INTERVAL = 0.5


def _warn(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logs.get().warning(
        "database_retry",
        attempt=state.attempt_number,
        wait=round(state.upcoming_sleep, 2),
        error=describe(error) if error else None,
    )


def database(attempts: int = RETRY_ATTEMPTS) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Retry a database call with jittered exponential backoff, then give up."""
    decorator: Callable[[Callable[..., T]], Callable[..., T]] = tenacity.retry(
        retry=tenacity.retry_if_exception(is_transient),
        wait=tenacity.wait_random_exponential(
            multiplier=FIRST_WAIT_INTERVAL, max=MAX_WAIT_INTERVAL
        ),
        stop=tenacity.stop_after_attempt(attempts),
        before_sleep=_warn,
        reraise=True,
    )
    return decorator


def call(function: Callable[..., T], *args: Any, attempts: int = RETRY_ATTEMPTS) -> T:
    """Call ``function`` under the database retry policy."""
    return database(attempts)(function)(*args)
