"""Warehouse benchmark on PostgreSQL: the catalog's staging load next to a plain COPY and to dlt's merge
load of the same rows, measured in the same run, and the Great Expectations validation of the product
suite.

- ``staging_vs_copy``: rows/s of the staging load (``catalog_stage.write_products``: staged rows built from
  the payloads and upserted with ``unless_older``, into a migrated, indexed ``stg_product``) over rows/s
  of ``COPY .. FROM STDIN`` (psycopg's ``write_row``) of the same staged rows, built as tuples before the
  clock starts, into an empty copy of the table without indexes. Each side 3 times, interleaved;
  medians. Target: >= 0.5. Also the time of the same load into the table holding the rows.
- ``staging_vs_dlt``: the same staging rate over dlt's merge load (``primary_key="sku"``) of the same rows
  into a fresh dataset, dlt in its own environment (``.venv-dlt``). Target: >= 10.
- ``validate_rows_per_s``: ``validate_frame`` with ``product_checks`` over the frame ``stage_products``
  builds, ~0.1% of the rows deliberately bad (their rejection is asserted); the one-time Great
  Expectations import and context are timed apart.

Payloads are synthetic, shaped as the ERP extract lands them (``jsonable(ErpProduct)``), from the sandbox
catalog's families, variant axes and price points. ``python -m bench.warehouse [--quick]`` (100,000 rows,
one repeat) prints the figures as JSON. The PostgreSQL server: ``BENCH_PG_URL`` (an admin URL), else the
local one; the database ``erpsync_bench`` is dropped and created anew on each run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Engine, create_engine, table, text
from sqlalchemy.engine import make_url

from erpsync.alerts.redact import redact
from erpsync.common.memory import paused_gc
from erpsync.common.progress import Progress
from erpsync.quality.suites import product_checks
from erpsync.quality.validate import validate_frame
from erpsync.sync.catalog.stage import product_rows, write_products
from erpsync.sync.staging import frame_of
from erpsync.warehouse import db
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.migrate import upgrade
from sandbox.airflow_local import REPO
from sandbox.tryton import catalog

log = logging.getLogger("bench.warehouse")

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "erpsync_bench"
HOME = REPO / "var" / "bench" / "warehouse"
DLT_VENV = REPO / ".venv-dlt"
DLT_REQUIREMENTS = REPO / "bench" / "requirements-dlt.txt"
DLT_SCRIPT = REPO / "bench" / "dlt_load.py"
PYTHON = os.environ.get("PYTHON", "python3.11")

CURRENCY = "USD"
BATCH_ID = "bench"
IMAGE_BASE = "http://127.0.0.1:8000/erpsync/product.template"
EXTRACTED_AT = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
FIRST_CHANGE = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
BAD_EVERY = 1000  # ~0.1% of the rows fail a check
BASELINE = table("copy_baseline")
JSON_COLUMNS = ("image_urls", "categories")
TARGETS = {"staging_vs_copy": 0.5, "staging_vs_dlt": 10.0}


def product_payloads(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` product payloads with unique SKUs: templates of 2 to 4 variants, some archived, some
    without a description or image, discounted outerwear."""
    rng = random.Random(seed)
    payloads: list[dict[str, Any]] = []
    progress = Progress(log, "payloads", total=count)
    template = 0
    while len(payloads) < count:
        template += 1
        code, noun, department, category, axis, (low, high), materials, pitch = catalog.FAMILIES[
            template % len(catalog.FAMILIES)]
        axis_label, options = catalog.AXES[axis]
        title = f"{rng.choice(catalog.ADJECTIVES)} {rng.choice(materials)} {noun}"
        list_price = Decimal(rng.randint(low, high)) + Decimal(rng.choice(["0.00", "0.50", "0.95"]))
        variants = min(2 + template % 3, len(options))
        start = rng.randint(0, len(options) - variants)
        updated_at = (FIRST_CHANGE + dt.timedelta(seconds=rng.randrange(90 * 86400),
                                                  microseconds=rng.randrange(10**6))).isoformat()
        has_image = template % catalog.IMAGE_EVERY == 0
        before = len(payloads)
        for suffix, label, delta in options[start:start + variants][:count - len(payloads)]:
            price = list_price + Decimal(delta)
            sale_price = (price * catalog.DISCOUNT_FACTOR).quantize(Decimal("0.01")) \
                if category == catalog.DISCOUNTED_CATEGORY else price
            payloads.append({
                "erp_product_id": len(payloads) + 1, "sku": f"{code}-{template:06d}-{suffix}",
                "template_id": template, "template_code": f"{code}-{template:06d}", "title": title,
                "description": None if template % 10 == 3 else
                f"{title}, {axis_label.lower()} {label}. {pitch} {catalog.CARE[department]}",
                "active": template % catalog.ARCHIVED_TEMPLATE_EVERY != 0, "salable": True,
                "list_price": str(price), "sale_price": str(sale_price),
                "currency": CURRENCY, "unit": "u", "updated_at": updated_at,
                "categories": [f"{department} / {category}"],
                "image_urls": [f"{IMAGE_BASE}/{template}/image"] if has_image else [],
                "image_version": f"{template}@{updated_at}" if has_image else "",
                "_extracted_at": EXTRACTED_AT,
            })
        progress.add(len(payloads) - before)
    progress.finish()
    return payloads


# What makes a bad row, each failing the named check; a duplicate SKU fails the row it copies too.
BAD_ROWS: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]]] = [
    ("sku_present", lambda p, _before: {**p, "sku": None}),
    ("sku_unique", lambda p, before: {**p, "sku": before["sku"]}),
    ("sku_format", lambda p, _before: {**p, "sku": p["sku"].replace("-", " ", 1)}),
    ("title_length", lambda p, _before: {**p, "title": ""}),
    ("title_text", lambda p, _before: {**p, "title": p["title"] + "\x07"}),
    ("description_length", lambda p, _before: {**p, "description": "x" * 20_001}),
    ("list_price_present", lambda p, _before: {**p, "list_price": None}),
    ("list_price_positive", lambda p, _before: {**p, "list_price": "-5.00", "sale_price": "-5.00"}),
    ("compare_at_above_price", lambda p, _before: {**p, "sale_price": str(Decimal(p["list_price"]) + 1)}),
    ("currency", lambda p, _before: {**p, "currency": "EUR"}),
]


def with_bad_rows(payloads: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """A copy of ``payloads`` with every ``BAD_EVERY``-th row spoiled (kinds in turn); the positions the
    suite must reject."""
    spoiled = list(payloads)
    rejected: set[int] = set()
    for number, position in enumerate(range(BAD_EVERY // 2, len(payloads), BAD_EVERY)):
        check, spoil = BAD_ROWS[number % len(BAD_ROWS)]
        spoiled[position] = spoil(payloads[position], payloads[position - 1])
        rejected.add(position)
        if check == "sku_unique":
            rejected.add(position - 1)
    return spoiled, rejected


@contextmanager
def bench_database() -> Iterator[Engine]:
    """``erpsync_bench``, created anew and migrated to head; dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS erpsync_bench WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE erpsync_bench"))
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=DATABASE))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS erpsync_bench WITH (FORCE)"))
        admin.dispose()


def _timed(engine: Engine, what: str, rows: int, write: Callable[[Any], Any]) -> float:
    """Seconds to run ``write`` in a transaction, commit included, after a checkpoint (so that none
    falls into the measure of the load before)."""
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
    started = time.monotonic()
    with engine.begin() as conn:
        write(conn)
    return _done(what, rows, time.monotonic() - started)


def _done(what: str, rows: int, seconds: float) -> float:
    log.info("%s: %d rows in %.1fs (%.0f rows/s)", what, rows, seconds, rows / seconds)
    return seconds


def staging_vs_copy(engine: Engine, payloads: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    count = len(payloads)

    def staging_load(conn) -> None:
        write_products(conn, payloads, batch_id=BATCH_ID, now=EXTRACTED_AT)

    with paused_gc():
        # The baseline's rows: the staged rows as plain tuples (JSON wrapped for psycopg), whatever our
        # upsert makes of them, built before the clock starts.
        rows = list(product_rows(payloads, batch_id=BATCH_ID, now=EXTRACTED_AT))
        columns = list(rows[0])
        values = [tuple(Jsonb(value) if name in JSON_COLUMNS else value for name, value in row.items())
                  for row in rows]
    del rows
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE copy_baseline (LIKE stg_product INCLUDING DEFAULTS)"))
    staging_s, copy_s = [], []
    for repeat in range(1, repeats + 1):
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE stg_product, copy_baseline"))
        staging_s.append(_timed(engine, f"staging load {repeat}/{repeats}", count, staging_load))
        copy_s.append(_timed(engine, f"COPY baseline {repeat}/{repeats}", count,
                             lambda conn: db.copy_into(conn, BASELINE, columns, values)))
    reload_s = _timed(engine, "staging re-load of the same rows", count, staging_load)
    staging_rate, copy_rate = count / statistics.median(staging_s), count / statistics.median(copy_s)
    return {
        "staging_rows_per_s": round(staging_rate), "copy_rows_per_s": round(copy_rate),
        "staging_vs_copy": round(staging_rate / copy_rate, 3),
        "details": {
            "staging_s": _rounded(staging_s), "copy_s": _rounded(copy_s),
            "staging_reload_s": round(reload_s, 2),
            "staging_load": "catalog_stage.write_products in a transaction into the migrated stg_product "
                            "(primary key, 2 more indexes): staged rows built from the payloads, "
                            "db.upsert(..., unless_older='source_updated_at'), commit",
            "copy_baseline": "COPY copy_baseline (19 columns) FROM STDIN, text format, psycopg write_row of "
                             "the staged rows as tuples built before the clock starts (JSON columns wrapped "
                             "in psycopg Jsonb), into CREATE TABLE .. (LIKE stg_product INCLUDING "
                             "DEFAULTS): no primary key, no index; then commit",
            "staging_reload": "the same load again into the table holding the rows: the steady state of a "
                              "re-read (every row is rewritten with the batch's id and time)",
        },
    }


def _dlt_python() -> str:
    """The dlt environment's interpreter, made (once) from bench/requirements-dlt.txt."""
    python = DLT_VENV / "bin" / "python"
    installed = DLT_VENV / ".installed"
    wanted = DLT_REQUIREMENTS.read_text()
    if not installed.exists() or installed.read_text() != wanted:
        log.info("making %s for dlt (not timed)", DLT_VENV)
        if not python.exists():
            subprocess.run([PYTHON, "-m", "venv", str(DLT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(DLT_REQUIREMENTS)], check=True)
        installed.write_text(wanted)
    return str(python)


def staging_vs_dlt(engine: Engine, payloads: list[dict[str, Any]], staging_rate: float) -> dict[str, Any]:
    python = _dlt_python()
    HOME.mkdir(parents=True, exist_ok=True)
    rows_file = HOME / "products.jsonl"
    progress = Progress(log, f"rows for dlt in {rows_file}", total=len(payloads))
    try:
        with rows_file.open("w", encoding="utf-8") as out, paused_gc():
            for row in product_rows(payloads, batch_id=BATCH_ID, now=EXTRACTED_AT):
                out.write(json.dumps(row, default=str) + "\n")
                progress.add(1)
        progress.finish()
        log.info("dlt merge load of %d rows into %s", len(payloads),
                 engine.url.render_as_string(hide_password=True))
        # dlt insists on a password; the local server's trust authentication does not check it.
        destination = engine.url.set(drivername="postgresql", password=engine.url.password or "trust")
        done = subprocess.run(
            [python, str(DLT_SCRIPT), str(rows_file), f"bench_{uuid.uuid4().hex[:8]}"], cwd=HOME,
            capture_output=True, text=True,
            env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false",
                 "DESTINATION__POSTGRES__CREDENTIALS": destination.render_as_string(hide_password=False)},
        )
    finally:
        rows_file.unlink(missing_ok=True)
    if done.returncode:
        raise RuntimeError(f"the dlt load failed:\n{redact(done.stderr[-3000:])}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["loaded"] != len(payloads):
        raise RuntimeError(f"dlt loaded {figures['loaded']} rows of {len(payloads)}")
    dlt_rate = len(payloads) / _done("dlt merge load", len(payloads), figures["seconds"])
    return {
        "dlt_rows_per_s": round(dlt_rate), "staging_vs_dlt": round(staging_rate / dlt_rate, 2),
        "details": {
            "dlt_s": round(figures["seconds"], 2), "dlt_steps_s": figures["steps"],
            "dlt_version": figures["dlt_version"], "dlt_loader_file_format": figures["loader_file_format"],
            "dlt_load": "pipeline.run(rows, write_disposition='merge', primary_key='sku', JSON columns as "
                        "json) into a fresh dataset, rows read from JSON lines into dicts (decimals, "
                        "timestamps) before the clock starts; only pipeline.run is timed, not making the "
                        "environment, starting the process or reading the file",
        },
    }


def validation(payloads: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    checked, expected = with_bad_rows(payloads)
    started = time.monotonic()
    frame = frame_of(checked, numeric=("list_price", "sale_price"))
    frame_s = _done("data frame", len(checked), time.monotonic() - started)
    started = time.monotonic()
    validate_frame(frame.head(BAD_EVERY), product_checks(CURRENCY), dataset="erp.product")
    setup_s = time.monotonic() - started
    log.info("Great Expectations import, context and suite in %.1fs", setup_s)
    runs = []
    for repeat in range(1, repeats + 1):
        started = time.monotonic()
        result = validate_frame(frame, product_checks(CURRENCY), dataset="erp.product")
        runs.append(_done(f"validation {repeat}/{repeats}", len(frame), time.monotonic() - started))
        if set(result.rejected) != expected:
            raise AssertionError(f"rejected {len(result.rejected)} rows, expected {len(expected)}: "
                                 f"{sorted(set(result.rejected) ^ expected)[:10]}")
    return {
        "validate_rows_per_s": round(len(frame) / statistics.median(runs)),
        "details": {
            "validate_s": _rounded(runs), "frame_s": round(frame_s, 2), "gx_setup_s": round(setup_s, 2),
            "rejected_rows": len(expected), "failed_checks": result.failures_by_check(),
        },
    }


def _merge(figures: dict[str, Any], details: dict[str, Any], part: dict[str, Any]) -> None:
    details.update(part.pop("details"), **part)
    figures.update(part)


def _rounded(seconds: list[float]) -> list[float]:
    return [round(s, 2) for s in seconds]


def run(quick: bool = False) -> dict[str, Any]:
    """The metrics, flat, and the raw figures under ``details["warehouse"]``."""
    count, repeats = (100_000, 1) if quick else (1_000_000, 3)
    started = time.monotonic()
    with paused_gc():  # setting up, not measured: as fast as it goes
        payloads = product_payloads(count)
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {"rows": count, "repeats": repeats, "targets": TARGETS}
    with bench_database() as engine:
        _merge(figures, details, staging_vs_copy(engine, payloads, repeats))
        _merge(figures, details, staging_vs_dlt(engine, payloads, figures["staging_rows_per_s"]))
    _merge(figures, details, validation(payloads, repeats))
    details["bench_s"] = round(time.monotonic() - started, 1)
    return {**figures, "details": {"warehouse": details}}


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("alembic", "great_expectations", "erpsync"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=str))
