"""bench/results.json, and bench/report.md with its charts (PNG) next to it."""

from __future__ import annotations

import json
import operator
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
REPORT = BENCH_DIR / "report.md"
NOTES = BENCH_DIR / "NOTES.md"  # what bounds each figure, written by people from the profiles

# metric -> (comparison, target, what it means)
TARGETS = {
    "publish_inventory_ratio": (">=", 0.90, "inventory levels/s ÷ the Standard plan's ceiling (10k SKUs × 2 locations)"),
    "publish_price_ratio": (">=", 0.90, "variants/s ÷ the cost ceiling for the catalog's shape"),
    "noop_run_s_10k": (None, None, "a run with nothing changed, 10k SKUs (s, steps only)"),
    "noop_run_s_100k": (None, None, "a run with nothing changed, 100k SKUs (s, steps only)"),
    "noop_growth": ("<=", 2.0, "no-op run time, 100k ÷ 10k"),
    "noop_store_requests_100k": ("==", 0, "store requests of a no-op run at 100k"),
    "delta_run_s_100k": (None, None, "a 1%-changed run at 100k SKUs (s)"),
    "delta_mutations_100k": ("== delta_required_100k", None, "store mutations the 1% run sent"),
    "delta_required_100k": (None, None, "store values the 1% change required (before/after)"),
    "staging_vs_copy": (">=", 0.5, "staging load rows/s ÷ plain COPY rows/s (1M rows, PostgreSQL)"),
    "staging_vs_dlt": (">=", 10.0, "staging load rows/s ÷ dlt merge rows/s"),
    "validate_rows_per_s": (None, None, "GX validation of the catalog suite (rows/s, 1M rows)"),
    "order_ingest_ratio": (">=", 0.8, "orders/s booked by the flow ÷ the ERP's own batched rate"),
    "order_read_per_s": (None, None, "order versions/s read from the store by the flow's paced query "
                         "(Standard plan, steady state)"),
    "order_read_points": (None, None, "points each order read cost (actual query cost ÷ orders)"),
    "order_read_ratio": (">=", 0.9, "orders/s read ÷ the Standard plan's ceiling (restore rate ÷ points "
                         "per order): the store's limit, not ours, bounds a sale event's reads"),
    "order_stamps_ceiling_per_s": (None, None, "the same ceiling for the cheap stamps (id, updatedAt)"),
    "publish_vendure_ratio": (">=", 0.8, "Vendure stock levels/s written by VendureStore at its default pacing "
                              "(40 requests/s) ÷ the same writes sent straight to the server"),
    "publish_vendure_ratio_unpaced": (None, None, "the same with the product's pacing off (0): the pre-read's cost"),
    "freshness_catalog_p50_s": (None, None, "ERP change → visible in the store, median (s; ERP change "
                                "watcher)"),
    "freshness_catalog_p95_s": ("<=", 10.0, "ERP change → visible in the store, p95 (s; ERP change watcher)"),
    "freshness_orders_p50_s": (None, None, "store order → confirmed sale in the ERP, median (s; webhooks)"),
    "freshness_orders_p95_s": ("<=", 10.0, "store order → confirmed sale in the ERP, p95 (s; webhooks)"),
    "freshness_orders_p95_s_dropped": ("<=", 120.0, "the same with 20% of the webhooks dropped, 10% "
                                       "duplicated, 10% reordered, every order booked once, p95 (s; "
                                       "safety-net poll 120 s)"),
    "freshness_poll_catalog_p95_s": (None, None, "ERP change → visible in the store, p95 (s; polling only, "
                                     "30 s schedules)"),
    "freshness_poll_orders_p95_s": (None, None, "store order → confirmed sale in the ERP, p95 (s; polling "
                                    "only, 30 s schedules)"),
    "cross_channel_freshness_p50_s": (None, None, "a sale in one store → the other store shows the lower "
                                      "availability, median (s)"),
    "cross_channel_freshness_p95_s": ("<=", 60.0, "a sale in one store → the other store shows the lower "
                                      "availability, p95 (s; polling, 30 s schedules)"),
    "dag_parse_s_max": ("<", 0.5, "slowest DAG file's parse (s)"),
    # `make peak-day` (bench/peak_day.py), not part of a whole `make bench`: details.peak_day says at which
    # catalog size, plan and burst.
    "peak_day_arrival_per_s": (None, None, "a peak day: orders/s placed over the burst, catalog changes "
                               "at 2% of the SKUs per hour meanwhile, on the CeleryExecutor"),
    "peak_day_backlog_max": (None, None, "a peak day: most orders placed and not yet booked"),
    "peak_day_drain_s": (None, None, "a peak day: the burst's last order placed → its last order booked (s)"),
    "peak_day_booked_per_s_burst": (None, None, "a peak day: orders booked/s during the burst"),
    "peak_day_booked_per_s_drain": (None, None, "a peak day: orders booked/s after the burst, until drained"),
    "peak_day_orders_p50_s": (None, None, "a peak day: store order → confirmed sale in the ERP, median (s)"),
    "peak_day_orders_p95_s": (None, None, "a peak day: store order → confirmed sale in the ERP, p95 (s)"),
    "peak_day_catalog_p95_s_burst": (None, None, "a peak day: ERP change → visible in the store, p95 (s; "
                                     "committed during the burst)"),
    "peak_day_catalog_p95_s_after": (None, None, "a peak day: the same, committed after the burst"),
    "peak_day_duplicates": ("==", 0, "a peak day: store orders with two ERP sales"),
    "peak_day_missing": ("==", 0, "a peak day: store orders without a confirmed ERP sale at the end"),
}
QUICK_METRICS = ["noop_run_s_demo", "delta_run_s_demo", "staging_vs_copy", "staging_vs_dlt", "validate_rows_per_s",
                 "order_ingest_ratio", "order_read_per_s", "order_read_ratio", "publish_vendure_ratio",
                 "publish_vendure_ratio_unpaced", "dag_parse_s_max"]
COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}


OWN_TARGET_METRICS = ("peak_day_",)  # measured by their own make target, not by a whole `make bench`


def expected_metrics(quick: bool) -> list[str]:
    return QUICK_METRICS if quick else [m for m in TARGETS if not m.startswith(OWN_TARGET_METRICS)]


def verdict(results: dict, metric: str) -> str:
    value = results.get(metric)
    comparison, target, _ = TARGETS.get(metric, (None, None, ""))
    if value is None:
        return "not measured"
    if comparison is None:
        return ""
    if comparison.startswith("== "):
        other = results.get(comparison[3:])
        return "met" if value == other else f"missed (≠ {other})"
    return "met" if COMPARE[comparison](value, target) else "missed"


def write(results: dict) -> None:
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    charts = _charts(results)
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` ({results.get('mode')} mode), finished {results.get('finished_at')} in "
        f"{results.get('seconds', 0) / 60:.1f} min (the last invocation) on {results['machine']['cpus']} × {results['machine']['cpu']}, "
        f"{results['machine']['memory_gib']} GiB. Figures: bench/results.json. Comparisons are ratios measured "
        "side by side in the same run; times are medians of repeated runs where the section says so.",
        "",
        "| metric | value | target | verdict | what |",
        "|---|---|---|---|---|",
    ]
    for metric in [m for m in TARGETS if m in results] + [m for m in QUICK_METRICS if m not in TARGETS and m in results]:
        comparison, target, what = TARGETS.get(metric, (None, None, ""))
        goal = "" if comparison is None else (comparison if target is None else f"{comparison} {target}")
        lines.append(f"| `{metric}` | {results[metric]} | {goal} | {verdict(results, metric)} | {what} |")
    if results.get("errors"):
        lines += ["", "**Sections that failed:** " + ", ".join(sorted(results["errors"])) + " (tracebacks in results.json)"]
    lines += ["", f"Versions: {', '.join(f'{k} {v}' for k, v in results.get('versions', {}).items() if v)}.", ""]
    lines += [f"![{title}]({path.name})\n" for title, path in charts]
    if NOTES.exists():
        lines += ["", NOTES.read_text()]
    REPORT.write_text("\n".join(lines) + "\n")


def _charts(results: dict) -> list[tuple[str, Path]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[tuple[str, Path]] = []

    def save(fig, name: str, title: str) -> None:
        path = BENCH_DIR / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append((title, path))

    ratios = [(m, results[m], TARGETS[m][1]) for m in
              ("publish_inventory_ratio", "publish_price_ratio", "publish_vendure_ratio", "order_ingest_ratio",
               "staging_vs_copy")
              if results.get(m) is not None]
    if ratios:
        fig, ax = plt.subplots(figsize=(7, 3))
        names = [m for m, _, _ in ratios]
        ax.barh(names, [v for _, v, _ in ratios], color=["#4c9a2a" if v >= t else "#c0392b" for _, v, t in ratios])
        for i, (_, value, target) in enumerate(ratios):
            ax.plot([target, target], [i - 0.4, i + 0.4], color="black", linestyle="--")
            ax.text(value + 0.01, i, f"{value:.3f}", va="center")
        ax.set_xlim(0, 1.15)
        ax.set_xlabel("ratio to the physical limit (dashed: target)")
        save(fig, "chart-ratios.png", "Throughput against the limits")

    sizes = [(label, results.get(f"noop_run_s_{label}"), results.get(f"delta_run_s_{label}"))
             for label in ("demo", "10k", "100k") if results.get(f"noop_run_s_{label}") is not None]
    if sizes:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        xs = range(len(sizes))
        ax.bar([x - 0.2 for x in xs], [s[1] for s in sizes], width=0.4, label="no change")
        ax.bar([x + 0.2 for x in xs], [s[2] or 0 for s in sizes], width=0.4, label="1% changed")
        ax.set_xticks(list(xs), [f"{s[0]} SKUs" for s in sizes])
        ax.set_ylabel("catalog run (s, steps only)")
        ax.legend()
        save(fig, "chart-catalog-runs.png", "Catalog run time by catalog size")

    samples = {flow: results.get("details", {}).get("freshness", {}).get(f"freshness_{flow}_samples")
               for flow in ("catalog", "orders")}
    if any(samples.values()):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for flow, values in samples.items():
            if values:
                ordered = sorted(values)
                ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post",
                        label=f"{flow} (n={len(ordered)})")
        ax.axvline(TARGETS["freshness_orders_p95_s"][1], color="black", linestyle="--", label="p95 target")
        ax.axhline(0.95, color="grey", linestyle=":")
        ax.set_xlabel("seconds from the change to visible on the other side")
        ax.set_ylabel("share of changes")
        ax.legend()
        save(fig, "chart-freshness.png", "End-to-end freshness under the Airflow scheduler (event-driven)")

    hot = results.get("details", {}).get("freshness", {}).get("hot_path", {})
    paths = [(dag_id, found["hops"]) for dag_id, found in hot.items() if found.get("hops")]
    if paths:
        fig, ax = plt.subplots(figsize=(8, 1.2 + 0.9 * len(paths)))
        colours = {"event_to_run": "#e67e22", "wait": "#95a5a6", "work": "#2e86c1"}
        for row, (dag_id, path) in enumerate(paths):
            left = 0.0
            for name, seconds in path:
                kind = "event_to_run" if name == "event_to_run" else name.rsplit(" ", 1)[1]
                ax.barh(row, seconds, left=left, color=colours[kind], edgecolor="white")
                if kind == "work" and seconds >= 0.4:
                    ax.text(left + seconds / 2, row, name.rsplit(" ", 1)[0].replace("+", "+\n"), ha="center",
                            va="center", fontsize=6, color="white")
                left += seconds
            ax.text(left + 0.1, row, f"{left:.1f} s", va="center")
        ax.set_yticks(range(len(paths)), [dag_id for dag_id, _ in paths])
        ax.set_xlabel("seconds (medians): orange the event to its run, grey a task's wait, blue its work")
        save(fig, "chart-hot-path.png", "Where the seconds of the hot path go")

    load = results.get("details", {}).get("warehouse", {})
    rates = [(label, load.get(key)) for label, key in
             (("project staging load", "staging_rows_per_s"), ("plain COPY", "copy_rows_per_s"),
              ("dlt merge", "dlt_rows_per_s")) if load.get(key)]
    if rates:
        fig, ax = plt.subplots(figsize=(6, 2.8))
        ax.barh([r[0] for r in rates], [r[1] for r in rates], color="#2e86c1")
        ax.set_xscale("log")
        ax.set_xlabel("rows/s into PostgreSQL (log scale)")
        for i, (_, value) in enumerate(rates):
            ax.text(value, i, f" {value:,.0f}", va="center")
        save(fig, "chart-staging.png", "Staging load against COPY and dlt")

    peak = results.get("details", {}).get("peak_day", {})
    if peak.get("samples"):
        from bench.peak_day import draw

        save(draw(plt, peak), "chart-peak-day.png",
             f"A peak day: the orders' backlog and bookings ({peak['size']} catalog; bound: {peak['bound']})")
    return made
