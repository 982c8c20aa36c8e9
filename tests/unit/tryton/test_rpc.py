"""TrytonRpc against a transport stub: sessions, error mapping and which failures are retried."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
import requests

from erpsync.common.retry import Backoff
from erpsync.tryton.errors import ErpAuthError, ErpServerError, ErpTransportError, ErpUserError
from erpsync.tryton.rpc import TrytonRpc
from tests.support.http import StubTransport

NO_WAIT = Backoff(attempts=3, base_s=0.0, jitter=0.0)


def login_ok(session="s1", user_id=7) -> Callable:
    return lambda request: (200, {"id": 1, "result": [user_id, session, None]})


def rpc_with(replies) -> tuple[TrytonRpc, StubTransport]:
    transport = StubTransport(replies)
    http = requests.Session()
    http.mount("http://", transport)
    return TrytonRpc("http://erp", "erp", "integration", "secret", backoff=NO_WAIT, http=http), transport


def test_logs_in_once_and_sends_the_session_header():
    rpc, transport = rpc_with([login_ok(), (200, {"id": 2, "result": [1, 2]})])
    assert rpc.call("model.product.product.search", [], {}) == [1, 2]
    assert transport.methods() == ["common.db.login", "model.product.product.search"]
    assert transport.requests[0].url == "http://erp/erp/rpc/"
    header = transport.requests[1].headers["Authorization"]
    assert header == "Session " + base64.b64encode(b"integration:7:s1").decode()


def test_an_expired_session_is_renewed_once_and_the_call_repeated():
    rpc, transport = rpc_with([
        login_ok("s1"), (401, {}), login_ok("s2"), (200, {"id": 3, "result": "done"}),
    ])
    assert rpc.call("model.sale.sale.read", [1], [], {}) == "done"
    assert rpc.logins == 2
    assert transport.requests[-1].headers["Authorization"].endswith(
        base64.b64encode(b"integration:7:s2").decode()
    )


def test_bad_credentials_are_an_auth_error_naming_the_connection():
    rpc, _ = rpc_with([(401, {})])
    with pytest.raises(ErpAuthError, match="erp_default"):
        rpc.call("model.sale.sale.read", [1], [], {})


def test_user_errors_are_mapped_and_never_retried():
    rpc, transport = rpc_with([
        login_ok(),
        (200, {"id": 2, "error": ["UserError", ["The web id must be unique.", "Sale 42", None]]}),
    ])
    with pytest.raises(ErpUserError) as raised:
        rpc.call("model.sale.sale.create", [{}], {})
    assert raised.value.message == "The web id must be unique."
    assert raised.value.description == "Sale 42"
    assert len(transport.requests) == 2


def test_server_exceptions_keep_the_message_not_the_traceback():
    rpc, _ = rpc_with([login_ok(), (200, {"id": 2, "error": ["division by zero", "Traceback ..."]})])
    with pytest.raises(ErpServerError, match="division by zero") as raised:
        rpc.call("model.sale.sale.read", [1], [], {})
    assert "Traceback" not in str(raised.value)


def test_reads_are_retried_after_a_timeout():
    rpc, transport = rpc_with([login_ok(), requests.ReadTimeout("slow"), (200, {"id": 3, "result": 1})])
    assert rpc.call("model.product.product.search_read", [], 0, 10, None, [], {}) == 1
    assert transport.methods().count("model.product.product.search_read") == 2


def test_writes_are_not_repeated_after_they_may_have_reached_the_server():
    rpc, transport = rpc_with([login_ok(), requests.ReadTimeout("slow")])
    with pytest.raises(ErpTransportError, match="not retried"):
        rpc.call("model.sale.sale.create", [{}], {})
    assert transport.methods().count("model.sale.sale.create") == 1


def test_writes_are_retried_when_the_connection_was_refused():
    refused = requests.ConnectionError("NewConnectionError: [Errno 111] Connection refused")
    rpc, transport = rpc_with([login_ok(), refused, (200, {"id": 3, "result": [5]})])
    assert rpc.call("model.sale.sale.create", [{}], {}) == [5]


def test_gives_up_after_the_configured_attempts():
    rpc, transport = rpc_with([login_ok()] + [requests.ReadTimeout("slow")] * 3)
    with pytest.raises(ErpTransportError):
        rpc.call("model.product.product.read", [1], [], {})
    assert transport.methods().count("model.product.product.read") == NO_WAIT.attempts


def test_the_password_never_appears_in_repr_or_errors():
    rpc, _ = rpc_with([(401, {})])
    assert "secret" not in repr(rpc)
    with pytest.raises(ErpAuthError) as raised:
        rpc.call("model.sale.sale.read", [1], [], {})
    assert "secret" not in str(raised.value)
