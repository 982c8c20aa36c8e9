from erpsync.shopify.pacing import CostBucket
from tests.support.clock import FakeTime


def bucket_after(status: dict, time: FakeTime) -> CostBucket:
    bucket = CostBucket(clock=time.clock, sleep=time.sleep)
    bucket.observe(status)
    return bucket


STATUS = {"maximumAvailable": 2000.0, "currentlyAvailable": 15, "restoreRate": 100.0}


def test_first_call_goes_at_once_when_nothing_is_known():
    time = FakeTime()
    assert CostBucket(clock=time.clock, sleep=time.sleep).acquire(500) == 0
    assert time.slept == []


def test_waits_exactly_until_the_bucket_holds_the_cost():
    time = FakeTime()
    bucket = bucket_after(STATUS, time)
    assert bucket.acquire(10) == 0  # 15 available
    assert bucket.acquire(10) == 0.05  # 5 left after the reservation: 5 more points at 100/s
    assert time.slept == [0.05]
    assert bucket.waited_s == 0.05


def test_the_bucket_refills_with_time_up_to_its_size():
    time = FakeTime()
    bucket = bucket_after(STATUS, time)
    time.now += 3
    assert bucket.predicted() == 315
    time.now += 3600
    assert bucket.predicted() == 2000


def test_a_report_replaces_the_estimate():
    time = FakeTime()
    bucket = bucket_after(STATUS, time)
    bucket.acquire(10)
    bucket.observe({"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}, settled=10)
    assert bucket.predicted() == 1990


def test_calls_still_in_flight_stay_reserved_when_another_answer_comes():
    time = FakeTime()
    bucket = bucket_after({"maximumAvailable": 2000.0, "currentlyAvailable": 30, "restoreRate": 100.0}, time)
    assert bucket.acquire(12) == 0 and bucket.acquire(12) == 0  # two threads, 30 points: both go
    # The first answer was charged before the second call reached the store: 18 left by the store's count,
    # 6 by ours, since the second call will take 12 too.
    bucket.observe({"maximumAvailable": 2000.0, "currentlyAvailable": 18, "restoreRate": 100.0}, settled=12)
    assert bucket.predicted() == 6 and bucket.in_flight == 12
    assert bucket.acquire(12) == 0.06  # a third call waits for the 6 missing points
    bucket.settle(12)  # the second call failed on the way: nothing more to hold back for it
    bucket.observe({"maximumAvailable": 2000.0, "currentlyAvailable": 10, "restoreRate": 100.0}, settled=12)
    assert bucket.in_flight == 0 and bucket.predicted() == 10


def test_a_background_reader_leaves_its_reserve_to_the_others():
    time = FakeTime()
    bucket = CostBucket(clock=time.clock, sleep=time.sleep, reserve_share=0.5)
    bucket.observe({"maximumAvailable": 1000.0, "currentlyAvailable": 600.0, "restoreRate": 100.0})
    assert bucket.acquire(100) == 0  # 600 >= 100 + 500
    assert bucket.acquire(100) == 1.0  # 500 left: waits for 100 more points so that 500 stay free
    assert bucket.wait_time(2000) == 5.0  # never asks for more than the bucket holds


def test_the_background_store_reserves_half_the_bucket_and_the_flows_none():
    from erpsync.shopify.hook import BACKGROUND_RESERVE_SHARE, ShopifyHook
    from erpsync.shopify.settings import ShopifySettings

    hook = ShopifyHook()
    hook.__dict__["settings"] = ShopifySettings(shop_url="http://127.0.0.1:1", access_token="shpat_x")
    assert hook.background_store.client.bucket.reserve_share == BACKGROUND_RESERVE_SHARE == 0.5
    assert hook.store.client.bucket.reserve_share == 0.0
    # and it waits its turn longer: up to reconcile's interval (15 minutes), the flows 5 minutes
    assert hook.background_store.client.throttle_patience_s == 900
    assert hook.store.client.throttle_patience_s == 300
