"""The per-fault chaos suite's own parts (sandbox/chaos_faults.py): the partition relay, on real sockets,
and what counts as a fault survived."""

from __future__ import annotations

import socket
import threading

import pytest

from sandbox.chaos_faults import Outcome, Relay


@pytest.fixture
def echo_port():
    """A TCP server on loopback that sends back whatever it receives, each connection in its own thread."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(0.5)
    return sock


def test_the_relay_carries_holds_on_a_cut_and_delivers_what_it_held_when_healed(echo_port):
    relay = Relay(echo_port)
    try:
        before = connect(relay.port)
        before.sendall(b"one")
        assert before.recv(16) == b"one"

        relay.cut()
        before.sendall(b"two")
        with pytest.raises(TimeoutError):  # an open connection: nothing answers, nothing is refused
            before.recv(16)
        during = connect(relay.port)  # a new connection is accepted, then waits
        during.sendall(b"three")
        with pytest.raises(TimeoutError):
            during.recv(16)

        relay.heal()
        before.settimeout(5)
        during.settimeout(5)
        assert before.recv(16) == b"two"  # what was held is delivered, as retransmissions would
        assert during.recv(16) == b"three"
        assert relay.held == 1
    finally:
        relay.close()


def test_the_relay_refuses_when_its_target_is_down():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]
    relay = Relay(closed_port)
    try:
        sock = connect(relay.port)
        sock.settimeout(5)
        assert sock.recv(16) == b""  # closed by the relay: the caller sees the server gone
    finally:
        relay.close()


def survived(**figures) -> Outcome:
    base = {"fresh_orders_s": 12.0, "fresh_catalog_s": 30.0, "errors_drained_s": 5.0,
            "missing": 0, "twice": 0, "overwritten": 0}
    return Outcome("store_5xx", **{**base, **figures})


@pytest.mark.parametrize(("figures", "shown"), [
    ({"missing": 1}, "missing 1,"), ({"twice": 2}, "twice 2,"), ({"overwritten": 1}, "overwritten 1;"),
    ({"fresh_orders_s": None}, "orders never,"), ({"fresh_catalog_s": None}, "catalog never;"),
    ({"errors_drained_s": None}, "resolved never after"), ({"missing": None}, "missing None,")])
def test_a_fault_is_survived_only_fresh_again_drained_and_with_three_zeros(figures, shown):
    assert survived().ok
    outcome = survived(**figures)
    assert not outcome.ok
    assert shown in outcome.line()


def test_a_fault_that_does_not_apply_is_reported_with_why():
    outcome = Outcome("kill_worker_booking", skipped="Celery workers only")
    assert outcome.ok and "skipped: Celery workers only" in outcome.line()


def test_levels_off_split_into_over_what_the_erp_allows_and_under_it():
    from sandbox.chaos_faults import _audit_figures
    from tests.support.audit import Report

    found = Report(orders_missing=["#1"], levels_checked=4, levels_off=[
        {"sku": "A", "location": "X", "store": 5, "desired": 3},  # offers two units the ERP does not have
        {"sku": "B", "location": "X", "store": 1, "desired": 4},
        {"sku": "C", "location": "Y", "store": 0, "desired": 2}])
    figures = _audit_figures(found)
    assert (figures["levels_over"], figures["levels_under"], figures["orders_missing"]) == (1, 2, 1)
    assert [level["sku"] for level in figures["samples"]["over"]] == ["A"]


def test_a_fault_that_needed_a_reconciliation_says_what_the_flows_had_left():
    outcome = survived(audit={"flows_alone": {"orders_missing": 0, "levels_over": 3, "levels_under": 2},
                              "after_reconcile": {"reconcile": "success"}})
    assert outcome.ok
    assert ("after a reconciliation; the flows alone had left 0 missing, 3 levels over and 2 under"
            in outcome.line())


def test_an_error_of_a_records_own_data_is_counted_apart_and_not_waited_for(warehouse_url, monkeypatch):
    """A customer the store refuses for its data (a phone another account has) waits for a person whatever
    the fault did: the drain counts it apart instead of waiting for it and calling the fault not survived;
    an order's error opened by the fault is still waited for."""
    import datetime as dt
    import types

    import sandbox.chaos_faults as chaos_faults
    from erpsync.sync.state.row_errors import RowFailure, record_failures, resolve
    from erpsync.warehouse.engine import make_engine

    monkeypatch.setattr(chaos_faults, "DRAIN_TIMEOUT_S", 2)
    since = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)
    engine = make_engine(warehouse_url)
    try:
        with engine.begin() as conn:
            for flow, entity, operation, kind in (
                    ("orders", "order", "create_sale", "ErpUnavailable"),
                    ("customers", "customer", "create_account", "StoreRefused")):
                record_failures(conn, store="store_default", flow=flow, entity=entity, operation=operation,
                                failures=[RowFailure("1001", kind, "why")], run_id="r",
                                now=since + dt.timedelta(seconds=30))
        suite = types.SimpleNamespace(demo=types.SimpleNamespace(warehouse_url=warehouse_url))

        outcome = Outcome("store_5xx")
        chaos_faults.Suite.drained(suite, outcome, since, healed=0.0)
        assert (outcome.errors_opened, outcome.errors_of_data, outcome.errors_drained_s) == (1, 1, None)

        with engine.begin() as conn:
            resolve(conn, store="store_default", flow="orders", entity="order", operation="create_sale",
                    keys=["1001"], now=since + dt.timedelta(seconds=90))
        outcome = Outcome("store_5xx")
        chaos_faults.Suite.drained(suite, outcome, since, healed=0.0)
        assert (outcome.errors_opened, outcome.errors_of_data) == (1, 1)
        assert outcome.errors_drained_s is not None
        assert "(1 more for records' own data, left to a person)" in survived(errors_of_data=1).line()
    finally:
        engine.dispose()
