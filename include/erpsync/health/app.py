"""The sync-health page as a FastAPI app, mounted in Airflow's API server by the plugin in ``plugins/``.

Airflow does not authenticate plugin apps: every route here depends on Airflow's own authentication
(the UI's session cookie or a bearer token, checked by the configured auth manager), so the page is
visible to exactly who may see the Airflow UI. A visitor without a session is sent to the login page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import event

from erpsync.health import page
from erpsync.warehouse.served import warehouse_engine

MOUNT = "/erpsync"


def _authorized():
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    return requires_access_view(AccessView.WEBSITE)


def _freshness() -> dict[str, float]:
    from airflow.models.variable import Variable

    from erpsync.alerts.config import VARIABLE, AlertConfig

    return AlertConfig.parse(Variable.get(VARIABLE, default_var=None)).freshness_minutes


def build_page(view: page.View = page.View()) -> tuple[str, int, float]:
    """The page, the number of SQL queries it took and how long (ms)."""
    engine = warehouse_engine()
    counted = {"queries": 0}

    def count(*_args) -> None:
        counted["queries"] += 1

    started = time.perf_counter()
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = page.snapshot(engine, _freshness(), dt.datetime.now(dt.UTC), view)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    elapsed = (time.perf_counter() - started) * 1000
    return page.render(data, queries_used=counted["queries"], elapsed_ms=elapsed), counted["queries"], elapsed


def create_app() -> FastAPI:
    app = FastAPI(title="erpsync sync health", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(401)
    async def _login(request: Request, exc) -> RedirectResponse | JSONResponse:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/auth/login?next={MOUNT}/health", status_code=303)
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)

    @app.get("/health", response_class=HTMLResponse, dependencies=[Depends(_authorized())])
    async def health(dataset: str | None = None, q_page: int = Query(0, ge=0), flow: str | None = None,
                     e_page: int = Query(0, ge=0), store: str | None = None) -> HTMLResponse:
        view = page.View(dataset=dataset or None, q_page=q_page, flow=flow or None, e_page=e_page,
                         store=store or None)
        html, queries, elapsed = await asyncio.to_thread(build_page, view)
        return HTMLResponse(html, headers={"X-Sync-Health-Queries": str(queries),
                                           "X-Sync-Health-Ms": f"{elapsed:.0f}", "Cache-Control": "no-store"})

    return app
