"""Which failures mean "the database cannot be reached" (a 503 with Retry-After), and which are errors of the request
or the statement. The HTTP answers during a real outage are in tests/ops/test_database_outage.py."""

from __future__ import annotations

import asyncpg
import pytest

from segment_service.core.errors import ServiceUnavailable, error_body, family_for_path
from segment_service.core.http import to_service_error
from segment_service.core.outage import is_connection_failure

UNREACHABLE = [
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    FileNotFoundError(2, "No such file or directory"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),  # a connect or pool acquire that got no answer
    TimeoutError(),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection due to crash of another server process"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.ConnectionFailureError("server closed the connection unexpectedly"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
]

NOT_UNREACHABLE = [
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.InvalidRegularExpressionError("invalid regular expression"),
    asyncpg.DataError("invalid input for query argument $1"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ValueError("not a database error"),
]


@pytest.mark.parametrize("error", UNREACHABLE, ids=lambda e: f"{type(e).__name__}:{e}")
def test_unreachable_database_answers_503_with_retry_after(error: Exception) -> None:
    assert is_connection_failure(error)
    answer = to_service_error(error)
    assert isinstance(answer, ServiceUnavailable)
    assert answer.status == 503
    assert answer.headers == {"Retry-After": "5"}
    message = "The service cannot reach its database right now; try again in a few seconds."
    assert error_body(answer, family_for_path("/coupon/t/coupons")) == {
        "status": 503,
        "type": "service_unavailable",
        "message": message,
    }
    assert error_body(answer, family_for_path("/customer-segment/t/segments")) == {
        "code": 503,
        "status": "Service Unavailable",
        "message": message,
    }


@pytest.mark.parametrize("error", NOT_UNREACHABLE, ids=lambda e: f"{type(e).__name__}:{e}")
def test_other_failures_are_not_an_outage(error: Exception) -> None:
    assert not is_connection_failure(error)
    assert to_service_error(error).status != 503


@pytest.mark.parametrize(
    "error",
    [asyncpg.DeadlockDetectedError("deadlock detected"), asyncpg.SerializationError("could not serialize access")],
    ids=lambda e: type(e).__name__,
)
def test_a_transaction_rolled_back_for_a_concurrent_one_answers_409(error: Exception) -> None:
    """Two writes that lock the same rows in opposite orders (an order's update and its customer's deletion): the
    database rolls one back, and its caller may simply send it again."""
    answer = to_service_error(error)
    assert answer.status == 409
    assert error_body(answer, family_for_path("/order-v2/t/salesorders/o1")) == {
        "status": 409,
        "type": "conflict_resource",
        "message": "The request ran into a concurrent change of the same data and was not applied; send it again.",
    }
