"""Who offers the last units of a SKU when several stores sell the same stock (pure decision logic)."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.catalog.desired import ChannelShare, channel_share, last_units_owner

skus = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)


def offers(available: int, sku: str, stores: int, split_at: int) -> list[int]:
    return [channel_share(available, sku, ChannelShare(position, stores), split_at) for position in range(stores)]


@given(skus, st.integers(0, 50), st.integers(2, 6), st.integers(0, 20))
def test_at_or_below_the_split_the_stores_together_offer_no_more_than_there_is(sku, available, stores, split_at):
    shown = offers(min(available, split_at), sku, stores, split_at)
    assert sum(shown) == min(available, split_at)
    assert sum(1 for units in shown if units) <= 1  # one store alone


@given(skus, st.integers(1, 50), st.integers(2, 6), st.integers(0, 20))
def test_above_the_split_every_store_offers_all(sku, extra, stores, split_at):
    available = split_at + extra
    assert offers(available, sku, stores, split_at) == [available] * stores


@given(skus, st.integers(2, 6), st.integers(1, 20))
def test_the_last_units_never_move_to_another_store_while_they_run_out(sku, stores, split_at):
    """Selling down from the split to zero, the store that offers them stays the same one."""
    sellers = {position for available in range(split_at, 0, -1)
               for position, units in enumerate(offers(available, sku, stores, split_at)) if units}
    assert len(sellers) == 1


def test_one_store_offers_everything_it_has():
    assert [channel_share(n, "SKU-1", ChannelShare(), 5) for n in (0, 1, 5, 6)] == [0, 1, 5, 6]


def test_the_owner_is_the_same_in_every_process_and_spread_over_the_stores():
    # crc32 of the SKU, worked out here by hand of the standard library: not Python's per-process hash.
    assert last_units_owner("HAT-1", 3) == zlib.crc32(b"HAT-1") % 3
    owners = {last_units_owner(f"SKU-{n}", 2) for n in range(20)}
    assert owners == {0, 1}
