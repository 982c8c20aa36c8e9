"""`make bench`: every benchmark against the real sandbox systems, one after the other (the machine has two
cores: nothing else of ours runs meanwhile), into bench/results.json and bench/report.md with its charts.

``python -m bench [--quick] [--only SECTION ...]``. ``--quick`` (under 5 minutes): the demo-size catalog,
100,000-row warehouse loads, fewer orders, and no freshness run. ``--only`` reruns some sections and keeps
the others' figures from the last results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import signal
import sys
import time
import traceback

from bench import machine, report
from bench.systems import BENCH_HOME

log = logging.getLogger("bench")

# Cheapest first: a broken set-up shows in seconds. Each section's run(quick) returns metric -> number,
# plus "details".
SECTIONS = ["parse", "warehouse", "orders", "order_reads", "vendure", "catalog", "freshness",
            "freshness_poll", "cross_channel", "peak_day"]
FULL_ONLY = {"freshness", "freshness_poll", "cross_channel"}
OWN_TARGET = {"peak_day"}  # long: `make peak-day` (or --only peak_day), never part of a whole run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SECTIONS)
    args = parser.parse_args(argv)
    # A stopped benchmark (Ctrl-C, kill) still stops the servers it started: their `finally` blocks run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    for noisy in ("urllib3", "erpsync", "great_expectations", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    previous = json.loads(report.RESULTS.read_text()) if args.only and report.RESULTS.exists() else {}
    sections = args.only or [s for s in SECTIONS
                              if s not in OWN_TARGET and not (args.quick and s in FULL_ONLY)]
    started = time.monotonic()
    results = {key: value for key, value in previous.items() if key not in ("errors",)}
    results.setdefault("details", {})
    results["errors"] = {}
    results["section_seconds"] = dict(previous.get("section_seconds", {}))
    for section in sections:
        log.info("== %s%s", section, " (quick)" if args.quick else "")
        section_started = time.monotonic()
        try:
            figures = importlib.import_module(f"bench.{section}").run(quick=args.quick)
        except Exception as error:  # noqa: BLE001 - one section failing must not lose the others' figures
            log.error("%s failed: %s", section, error)
            results["errors"][section] = "".join(traceback.format_exception(error))[-4000:]
            continue
        finally:
            results["section_seconds"][section] = round(time.monotonic() - section_started, 1)
        results["details"].update(figures.pop("details", {}))
        results.update(figures)
        log.info("%s: %s", section, figures)
    results.update(
        mode=("quick" if args.quick else "full") + (f", then {' '.join(args.only)} rerun" if args.only else ""),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - started, 1),
        machine=machine.describe(), versions=machine.versions(),
        catalog_sizes={k: results[k] for k in ("skus_10k", "skus_100k") if k in results},
    )
    report.write(results)
    log.info("wrote %s and %s (%.0f s)", report.RESULTS, report.REPORT, results["seconds"])
    missing = [m for m in report.expected_metrics(args.quick) if results.get(m) is None]
    if results["errors"] or missing:
        log.error("incomplete: failed sections %s, missing metrics %s", sorted(results["errors"]), missing)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
