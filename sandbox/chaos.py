"""`make chaos`: the demo trading under faults, then audited by code that shares none with the product.

On a running demo (``make demo``; the same ``DEMO_HOME`` and ports), for ``--minutes``: the shopper keeps
buying, cancelling and refunding while the store misbehaves in bursts (5xx answers, timeouts, dropped
connections before and *after* a write was applied, throttle storms) and the ERP goes down now and then
(stopped, then started again). Then the faults stop, the shopper stops, the audit
(``tests/support/audit.py``) reads both systems as the flows left them (reported), one reconciliation
runs, and the audit reads them again: orders missing or booked twice, levels off what
the ERP allows, products outside the web shop's assortment. Exit status 1 unless it finds nothing. The
shopper is started again at the end, as the demo had it.

``--minutes 60`` is the hour the product is held to; CI runs a few minutes of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from sandbox.demo import SHOPPER, Demo

log = logging.getLogger("chaos")

# One burst each: a rule set the store answers with for BURST_S seconds. Rates stay below 1: most calls
# go through, as in a real incident, and the client's retries meet the faults too.
BURSTS = {
    "5xx": [{"kind": "error_5xx", "rate": 0.5, "status": 503}],
    # Slow answers, and now and then none within the client's read timeout (60 s).
    "timeouts": [{"kind": "latency", "rate": 0.3, "latency_ms": 2000},
                 {"kind": "timeout", "rate": 0.03, "hold_seconds": 65.0}],
    "lost_answers": [{"kind": "drop_after", "rate": 0.4, "match": "mutation"},
                     {"kind": "drop_before", "rate": 0.2}],
    "throttle_storm": [{"kind": "throttle_storm", "rate": 0.5}, {"kind": "rate_limit_429", "rate": 0.2}],
}
BURST_S = 60
QUIET_S = 60
ERP_OUTAGE_S = 90
ERP_OUTAGE_EVERY = 4  # an ERP outage after the second store burst, then after every fourth


@dataclass
class Chaos:
    demo: Demo
    minutes: float
    seed: int = 5
    injected: Counter = field(default_factory=Counter)

    def run(self) -> dict:
        store, erp = self.demo.store, self.demo.erp
        rng = random.Random(self.seed)
        ends = time.monotonic() + self.minutes * 60
        orders_before = store.admin("GET", "/state")["counts"]["orders"]
        bursts = 0
        try:
            while time.monotonic() < ends:
                kind = rng.choice(sorted(BURSTS))
                log.info("store: %s for %d s", kind, BURST_S)
                store.admin("PUT", "/faults", {"seed": rng.randrange(1 << 30), "rules": BURSTS[kind]})
                self.injected[f"store_{kind}"] += 1
                self._sleep_until(min(ends, time.monotonic() + BURST_S))
                store.admin("DELETE", "/faults")
                bursts += 1
                if bursts % ERP_OUTAGE_EVERY == 2 and time.monotonic() + ERP_OUTAGE_S < ends:
                    log.info("ERP: down for %d s", ERP_OUTAGE_S)
                    erp.stop()
                    self.injected["erp_outage"] += 1
                    try:
                        self._sleep_until(time.monotonic() + ERP_OUTAGE_S)
                    finally:
                        erp.start()
                self._sleep_until(min(ends, time.monotonic() + QUIET_S))
        finally:
            store.admin("DELETE", "/faults")
            erp.start()
        orders = store.admin("GET", "/state")["counts"]["orders"] - orders_before
        return {"minutes": self.minutes, "injected": dict(self.injected), "orders_placed": orders}

    @staticmethod
    def _sleep_until(deadline: float) -> None:
        time.sleep(max(0.0, deadline - time.monotonic()))


def quiet(demo: Demo, quiet_s: float) -> None:
    """Stop the shopper and give the flows ``quiet_s`` to catch up on their own."""
    demo.store.admin("POST", "/shopper/stop")
    time.sleep(quiet_s)


def reconcile(demo: Demo, quiet_s: float, minutes: float) -> dict:
    """One reconciliation over the orders of the chaos (and a margin), as an operator would after an
    incident, then ``quiet_s`` for the repairs' own publishes and bookings."""
    airflow = demo.airflow
    http = airflow.session()
    run_id = airflow.trigger(http, "reconcile", {"orders_days": round((minutes + 30) / 1440, 4)})
    # A scheduled reconciliation may be running (one at a time): it is waited for, then this one.
    state = airflow.wait_for_run(http, "reconcile", run_id, timeout_s=3600)
    log.info("reconcile %s: %s", run_id, state)
    time.sleep(quiet_s)
    return {"reconcile": state}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--settle-s", type=float, default=90, help="quiet time before and after reconciling")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    from tests.support.audit import audit, demo_target

    demo = Demo.from_env()
    report = Chaos(demo, args.minutes, seed=args.seed).run()
    try:
        quiet(demo, args.settle_s)
        # What the flows reached on their own (reported; the scheduled reconciliation may have helped).
        before = audit(demo_target(), settle_s=120, passes=4)
        report["audit_before_reconcile"] = before.summary()
        report.update(reconcile(demo, args.settle_s, args.minutes))
        found = audit(demo_target(), settle_s=120, passes=4)
    finally:
        demo.store.admin("POST", "/shopper/start", SHOPPER)
    report.update(clean=found.clean, audit=found.summary())
    print(json.dumps(report, indent=2, default=str))
    return 0 if found.clean and report["reconcile"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
