"""How the warehouse grows under real traffic, and its size after a month under the retention policy.

It reads a PostgreSQL warehouse that has carried traffic (default: the running demo's, ``make demo``
with its shopper; the demo's warehouse is created with it, so every row it holds came from that traffic)
and measures, per table:

- its size on disk with its indexes and TOAST (``pg_total_relation_size``) and its rows, hence bytes per row;
- for the tables that grow with traffic, the rows the traffic added per hour, counted by the table's own
  time column over the steady part of the span (after ``--warmup-min``: the first full extract of the
  catalog is not traffic).

From those it projects the size after ``--days`` of the same traffic: a table the housekeeping DAG deletes
by age keeps at most its retention's worth (``RetentionConfig``: the defaults, or ``--retention`` JSON as
the Variable holds it); the business records (staged orders, the ledger, adjustments) are kept; the
state the catalog sizes (staged products and stock, published state, marks) does not grow with time.
It is a projection from measured rates, not a month replayed: the rates are those of the span measured.

``python -m bench.growth [--url URL] [--days 30] [--markdown]`` prints JSON (and a Markdown table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

from erpsync.sync.housekeeping.policy import RetentionConfig
from erpsync.warehouse import schema

# Table -> (its time column, the retention field that bounds it, or None: kept for good).
GROWING: dict[str, tuple[str, str | None]] = {
    "raw_record": ("extracted_at", "raw_days"),
    "sync_run": ("started_at", "run_log_days"),
    "row_error": ("first_failed_at", "closed_days"),
    "quarantine": ("quarantined_at", "closed_days"),
    "stg_order": ("store_created_at", None),
    "stg_order_line": ("store_created_at", None),  # its order's (a line is staged again with its order)
    "order_ledger": ("created_at", None),
    "order_adjustment": ("created_at", None),
    "store_event": ("received_at", "run_log_days"),
}


@dataclass(frozen=True)
class TableGrowth:
    table: str
    rows: int
    bytes: int
    rows_per_hour: float  # 0 for the tables sized by the catalog
    kept_days: float | None  # None: kept for good; 0: does not grow with time

    @property
    def bytes_per_row(self) -> float:
        return self.bytes / self.rows if self.rows else 0.0


def project(tables: list[TableGrowth], days: float) -> dict[str, int]:
    """Table -> bytes after ``days`` of the measured traffic: rows/hour x hours kept x bytes/row, for a
    table that grows; its size now for one that does not (pure: no I/O)."""
    sizes: dict[str, int] = {}
    for t in tables:
        if not t.rows_per_hour:
            sizes[t.table] = t.bytes
            continue
        hours = 24 * (days if t.kept_days is None else min(days, t.kept_days))
        sizes[t.table] = round(t.rows_per_hour * hours * t.bytes_per_row)
    return sizes


def measure(engine: Engine, retention: RetentionConfig, warmup: dt.timedelta,
            since: dt.datetime | None = None,
            until: dt.datetime | None = None) -> tuple[list[TableGrowth], dict[str, Any]]:
    """Every table of the warehouse, with the rows per hour of those that grow, and the span measured
    (``since`` / ``until``: a part of it, e.g. one stretch of traffic in a warehouse that had pauses)."""
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        sizes = {name: (int(rows), int(size)) for name, rows, size in conn.execute(text(
            "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables"))}
        runs = select(func.min(schema.sync_run.c.started_at), func.max(schema.sync_run.c.started_at))
        first, last = conn.execute(runs.where(schema.sync_run.c.started_at <= until) if until else runs).one()
        start = max(first, since or first) + warmup if first is not None else None
        if start is None or last <= start:
            raise SystemExit(f"the warehouse's runs span {first} to {last}: run the demo with its shopper "
                             f"longer than the warm-up ({warmup}) after {since or 'the first run'}")
        since = start
        hours = (last - since).total_seconds() / 3600
        tables = []
        for name, (rows, size) in sorted(sizes.items()):
            if name not in GROWING:
                tables.append(TableGrowth(name, rows, size, 0.0, 0))
                continue
            column, bound = GROWING[name]
            table = schema.metadata.tables[name]
            stamped = table
            if name == "stg_order_line":
                line, stamped = table, schema.stg_order
                table = line.join(stamped, (stamped.c.store == line.c.store)
                                  & (stamped.c.store_order_id == line.c.store_order_id))
            added = conn.execute(select(func.count()).select_from(table).where(
                stamped.c[column] >= since, stamped.c[column] <= last)).scalar_one()
            kept = None if bound is None else getattr(retention, bound)
            tables.append(TableGrowth(name, rows, size, added / hours, kept))
    return tables, {"from": since.isoformat(), "to": last.isoformat(), "hours": round(hours, 3)}


def report(tables: list[TableGrowth], span: dict, days: float) -> dict[str, Any]:
    month = project(tables, days)
    return {
        "span": span, "days": days,
        "now_mb": round(sum(t.bytes for t in tables) / 1e6, 1),
        "projected_mb": round(sum(month.values()) / 1e6, 1),
        "tables": [
            {"table": t.table, "rows": t.rows, "mb": round(t.bytes / 1e6, 2),
             "bytes_per_row": round(t.bytes_per_row), "rows_per_hour": round(t.rows_per_hour, 1),
             "kept_days": "for good" if t.kept_days is None else t.kept_days,
             "projected_mb": round(month[t.table] / 1e6, 1)}
            for t in sorted(tables, key=lambda t: -month[t.table])
        ],
    }


def markdown(figures: dict[str, Any]) -> str:
    lines = [f"Measured over {figures['span']['hours']} h of traffic; projected to {figures['days']} days: "
             f"**{figures['projected_mb']:,} MB** (now {figures['now_mb']:,} MB).", "",
             "| table | rows/h | bytes/row | kept (days) | after the month (MB) |",
             "|---|---:|---:|---:|---:|"]
    for t in figures["tables"]:
        if t["projected_mb"] >= 0.1:
            lines.append(f"| {t['table']} | {t['rows_per_hour']:,} | {t['bytes_per_row']:,} | "
                         f"{t['kept_days']} | {t['projected_mb']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="the warehouse (PostgreSQL); default: the running demo's")
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--warmup-min", type=float, default=5,
                        help="minutes of the span left out at its start")
    parser.add_argument("--retention", help="the retention Variable's JSON (default: its defaults)")
    parser.add_argument("--since", type=dt.datetime.fromisoformat,
                        help="when the traffic measured started (ISO, with offset; default: the first run)")
    parser.add_argument("--until", type=dt.datetime.fromisoformat,
                        help="when it ended (default: the last run)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    url = args.url
    if url is None:
        from sandbox.demo import Demo

        url = Demo.from_env().warehouse_url
    engine = create_engine(url)
    if engine.dialect.name != "postgresql":
        where = engine.url.render_as_string(hide_password=True)
        raise SystemExit(f"{where}: sizes are measured on PostgreSQL (the demo's warehouse is there on the "
                         "CeleryExecutor: make demo EXECUTOR=celery)")
    try:
        tables, span = measure(engine, RetentionConfig.parse(args.retention),
                               dt.timedelta(minutes=args.warmup_min), args.since, args.until)
    finally:
        engine.dispose()
    figures = report(tables, span, args.days)
    json.dump(figures, sys.stdout, indent=2)
    print()
    if args.markdown:
        print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
