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
FIRST_WAIT_INTERVAL = 0.5


def _warn(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logs.get().warning(
        "database_retry",
        attempt=state.attempt_number,
        wait=round(state.upcoming_sleep, 2),
        error=str(error).splitlines()[0] if error else None,
    )


def database(attempts: int = 8) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Retry a database call with jittered exponential backoff, then give up."""
    decorator: Callable[[Callable[..., T]], Callable[..., T]] = tenacity.retry(
        retry=tenacity.retry_if_exception_type(TRANSIENT),
        wait=tenacity.wait_random_exponential(
            multiplier=FIRST_WAIT_INTERVAL, max=MAX_WAIT_INTERVAL
        ),
        stop=tenacity.stop_after_attempt(attempts),
        before_sleep=_warn,
        reraise=True,
    )
    return decorator


def call(function: Callable[..., T], *args: Any, attempts: int = 8) -> T:
    """Call ``function`` under the database retry policy."""
    return database(attempts)(function)(*args)
