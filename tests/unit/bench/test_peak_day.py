"""A peak day's figures from what was measured, worked out by hand."""

from bench import peak_day
from bench.peak_day import Order, Sample


def sample(t: float, booked: int, placed: int = 10) -> Sample:
    return Sample(t, placed, booked, placed - booked, None, 0, 0)


def test_percentiles_take_the_nearest_rank_and_none_of_nothing():
    values = [float(v) for v in range(1, 21)]  # 1 .. 20
    assert peak_day.percentile(values, 0.5) == 11.0
    assert peak_day.percentile(values, 0.95) == 19.0
    assert peak_day.percentile([], 0.95) is None
    assert peak_day.spread([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0, "max": 3.0, "n": 3}


def test_the_drain_runs_from_the_last_order_placed_to_the_last_booked():
    orders = [Order("a", 0.0, 5.0), Order("b", 50.0, 80.0), Order("c", 60.0, 75.0)]
    assert peak_day.drain_time(orders, burst_end=60.0) == 20.0
    # booked before the burst ended: nothing to drain
    assert peak_day.drain_time([Order("a", 0.0, 5.0)], burst_end=60.0) == 0.0
    # one still waiting: not drained
    assert peak_day.drain_time(orders + [Order("d", 60.0)], burst_end=60.0) is None


def test_throughput_counts_the_bookings_of_a_half_open_window():
    orders = [Order("a", 0.0, 5.0), Order("b", 1.0, 10.0), Order("c", 2.0, 15.0), Order("d", 3.0)]
    assert peak_day.throughput(orders, 0.0, 10.0) == 0.1
    assert peak_day.throughput(orders, 10.0, 20.0) == 0.2
    assert peak_day.throughput(orders, 10.0, 10.0) is None


def test_bookings_per_interval_are_the_differences_between_samples():
    assert peak_day.per_interval([sample(0, 0), sample(10, 4), sample(20, 4), sample(30, 10)]) == [0, 4, 0, 6]


def test_the_bound_is_the_largest_share_of_the_time_until_the_last_order_was_booked():
    # Two runs in a window of 30 s: 5 s with no run in progress (0-2 and 20-23), 2 s of each run outside
    # its steps.
    runs = [{"start_s": 2.0, "end_s": 12.0, "wall_s": 10.0,
             "timings": {"extract_orders": 6.0, "stage_orders": 0.5, "ingest_orders": 1.5}},
            {"start_s": 10.0, "end_s": 20.0, "wall_s": 10.0,
             "timings": {"extract_orders": 4.0, "stage_orders": 0.5, "ingest_orders": 3.5}},
            {"start_s": 23.0, "end_s": 30.0, "wall_s": 7.0, "timings": {"extract_orders": 4.0}},
            {"start_s": -60.0, "end_s": -1.0, "wall_s": 59.0, "timings": {}}]  # before the burst
    shares = peak_day.run_shares(runs, window_s=30.0)
    # runs 27 s + 5 s between them (0-2, 20-23) = 32 s
    assert shares == {"store order reads": 0.438, "ERP booking": 0.156, "warehouse steps": 0.031,
                      "Airflow in the runs": 0.219, "Airflow between runs": 0.156}
    assert peak_day.name_bound(shares, kept_up=False) == \
        "store order reads (44% of the time until the last order was booked)"
    assert peak_day.name_bound(shares, kept_up=True).startswith("none reached")
    assert peak_day.name_bound({"ERP booking": 0.3, "Airflow in the runs": 0.2, "Airflow between runs": 0.2},
                               kept_up=False).startswith("Airflow (40%")
    assert peak_day.run_shares([], window_s=30.0) == {}
