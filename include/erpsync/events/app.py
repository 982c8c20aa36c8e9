"""The webhook endpoint as a FastAPI app, mounted in Airflow's API server by the plugin in ``plugins/``:
``POST /erpsync-webhooks/<store connection id>``, one per configured store whose Connection has a
``webhook_secret``.

Public by necessity (the store cannot log in to Airflow): this is the only route of the product without
Airflow's authentication, and nothing it receives is used before its signature is proven with the store's
secret. It answers only for the stores of ``[erpsync] stores``. The work per delivery is in
:mod:`erpsync.events.receiver`; this module gives it the warehouse and Airflow.

``[erpsync] webhook_max_age_seconds`` (3600): a delivery the store says was triggered longer ago than this
is recorded as stale and causes no run (a replay, or a retry the safety-net poll has overtaken).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from erpsync.events.receiver import DEFAULT_MAX_AGE, Answer, receive
from erpsync.events.subscriptions import MOUNT
from erpsync.store.events import Delivery, Endpoint, NoWebhooks

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024  # larger than any order Shopify sends; more is refused unread


def endpoint_for(conn_id: str) -> Endpoint:
    """The endpoint of a configured store; :class:`NoWebhooks` for anything else."""
    from airflow.models.connection import Connection

    from erpsync.store.hook import StoreConnectionError, hook_class
    from erpsync.tasks.stores import configured_stores

    if conn_id not in {slot.conn_id for slot in configured_stores()}:
        raise NoWebhooks(f"{conn_id!r} is not a store of [erpsync] stores")
    conn = Connection.get_connection_from_secrets(conn_id)
    try:
        hook = hook_class(conn.conn_type, conn_id=conn_id)
    except StoreConnectionError as error:
        raise NoWebhooks(str(error)) from None
    make = getattr(hook, "webhook_endpoint", None)
    if make is None:
        raise NoWebhooks(f"stores of type {conn.conn_type!r} send no webhooks: their orders are polled")
    return make(conn)


def request_run(conn_id: str, delivery: Delivery) -> None:
    """Ask Airflow for a run of the store's order flow: an event of the asset it is scheduled on
    (:func:`erpsync.tasks.stores.store_events_asset`). Airflow coalesces them: while a run is queued or
    running (one at a time), further events wait and then make one run."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from erpsync.tasks.stores import store_events_asset

    name = store_events_asset(conn_id).name
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.name == name).limit(1))
        if asset is None:
            raise LookupError(f"Airflow knows no asset {name!r}: is the order flow of {conn_id!r} parsed?")
        asset_manager.register_asset_change(
            asset=asset, extra={"event_id": delivery.event_id, "topic": delivery.topic}, source_is_api=True,
            session=session)


def _max_age() -> dt.timedelta:
    from airflow.configuration import conf

    seconds = conf.getint("erpsync", "webhook_max_age_seconds", fallback=int(DEFAULT_MAX_AGE.total_seconds()))
    return dt.timedelta(seconds=seconds)


def handle(conn_id: str, headers: dict[str, str], body: bytes) -> Answer:
    """One delivery, start to end (blocking: run it off the event loop)."""
    from erpsync.warehouse.served import warehouse_engine

    received_at = dt.datetime.now(dt.UTC)  # when it arrived: the inbox's own stamp, not an order's time
    try:
        endpoint = endpoint_for(conn_id)
    except NoWebhooks as missing:
        return Answer(404, {"outcome": "unknown", "reason": str(missing)})
    return receive(endpoint, headers, body, engine=warehouse_engine(), received_at=received_at,
                   request_run=lambda delivery: request_run(conn_id, delivery), max_age=_max_age())


def create_app() -> FastAPI:
    app = FastAPI(title="erpsync store webhooks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/{conn_id}")
    async def webhook(conn_id: str, request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return JSONResponse({"outcome": "refused", "reason": "body too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"outcome": "refused", "reason": "body too large"}, status_code=413)
        headers = {key.lower(): value for key, value in request.headers.items()}
        answer = await asyncio.to_thread(handle, conn_id, headers, body)
        return JSONResponse(answer.body, status_code=answer.status)

    return app
