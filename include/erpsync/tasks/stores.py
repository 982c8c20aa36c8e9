"""Which stores a deployment serves, and what each one's flows are called in Airflow.

``[erpsync] stores`` (or ``AIRFLOW__ERPSYNC__STORES``) lists the store Connection ids, comma-separated,
default ``store_default``. Each Connection's type says the kind of store (Shopify, Vendure); its extra
``erp_web_shop`` names the ERP web shop whose sales its orders become (default: the ``erp_default``
Connection's ``web_shop``). Adding a store is a Connection and a word in that list: no code.

Every store gets its own DAGs, pools and tags, so that it can be run, backfilled, paused and watched on
its own, and one store's outage never holds another's runs:

- the first store listed (the *primary*) keeps the plain DAG ids (``orders_sync``, ``reconcile``) and
  ``catalog_sync`` publishes to it right after staging the ERP's changes;
- every other store ``<conn_id>`` has ``orders_sync__<conn_id>``, ``reconcile__<conn_id>`` and
  ``catalog_publish__<conn_id>`` (it publishes what ``catalog_sync`` staged, from the same marks).

The list is read from Airflow's loaded configuration at parse time (no I/O): a change takes effect when
the DAG processor re-parses the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_STORES = "store_default"
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class StoreSlot:
    """One configured store: its Connection id and the names of its Airflow objects."""

    conn_id: str
    primary: bool

    def dag_id(self, base: str) -> str:
        return base if self.primary else f"{base}__{self.conn_id}"

    @property
    def pool(self) -> str:
        """One writer per store (its client paces itself below the store's limits)."""
        return "store_api" if self.primary else f"store_api__{self.conn_id}"

    @property
    def background_pool(self) -> str:
        return "store_api_background" if self.primary else f"store_api_background__{self.conn_id}"

    @property
    def tag(self) -> str:
        return f"store:{self.conn_id}"


class StoresConfigError(ValueError):
    """``[erpsync] stores`` lists something that cannot be a Connection id."""


def parse_stores(value: str | None) -> list[StoreSlot]:
    """The slots of a ``[erpsync] stores`` value: ids in their order, duplicates dropped, first primary."""
    ids: list[str] = []
    for item in re.split(r"[,\s]+", value or ""):
        if not item:
            continue
        if not _CONN_ID.match(item):
            raise StoresConfigError(f"[erpsync] stores: {item!r} is not a Connection id (letters, digits, "
                                    "'_', '.', '-'); list the store Connection ids, comma-separated")
        if item not in ids:
            ids.append(item)
    if not ids:
        ids = [DEFAULT_STORES]
    return [StoreSlot(conn_id, primary=index == 0) for index, conn_id in enumerate(ids)]


def configured_stores() -> list[StoreSlot]:
    """The stores of this deployment, from Airflow's configuration (parse time: no I/O)."""
    from airflow.configuration import conf

    return parse_stores(conf.get("erpsync", "stores", fallback=DEFAULT_STORES))


def store_names(conn_ids: list[str] | None = None) -> list[str]:
    """The warehouse names of the configured stores (or of ``conn_ids``): what their rows are keyed by.
    Reads each store Connection (run time only)."""
    from erpsync.store.hook import store_hook

    if conn_ids is None:
        conn_ids = [s.conn_id for s in configured_stores()]
    return [store_hook(conn_id).store.name for conn_id in conn_ids]


def other_store_names(conn_id: str) -> list[str]:
    """The warehouse names of the configured stores other than ``conn_id``'s (those that share its stock)."""
    return store_names([s.conn_id for s in configured_stores() if s.conn_id != conn_id])


def own_web_shop(conn_id: str) -> str | None:
    """The store's ERP web shop when it is not ``erp_default``'s own: its assortment and prices are then
    that web shop's (staged in ``stg_offer``); None: ``erp_default``'s (staged in ``stg_product``)."""
    from erpsync.store.hook import erp_web_shop
    from erpsync.tryton.hook import TrytonHook

    name = erp_web_shop(conn_id)
    return name if name and name != TrytonHook().settings.web_shop else None


def other_web_shops() -> list[str]:
    """The ERP web shops of the configured stores other than ``erp_default``'s, each once: the catalog
    extract reads how each offers the variants (run time only: reads the store Connections)."""
    shops = (own_web_shop(slot.conn_id) for slot in configured_stores())
    return list(dict.fromkeys(shop for shop in shops if shop))


def channel_of(conn_id: str):
    """The store's place among the configured stores (which last units it sells)."""
    from erpsync.sync.catalog.desired import ChannelShare

    slots = configured_stores()
    positions = [s.conn_id for s in slots]
    return ChannelShare(position=positions.index(conn_id) if conn_id in positions else 0, stores=len(slots))


def orders_shared_asset(conn_id: str):
    """The Airflow asset a store's order flow updates when it staged orders whose units the other stores
    must hold back (their inventory publish is due): the other stores' publishing runs on it at once,
    besides its interval, instead of waiting for that."""
    from airflow.sdk import Asset

    return Asset(f"erpsync_orders_shared__{conn_id}")


ERP_CHANGES = "erpsync_erp_changes"
CATALOG_STAGED = "erpsync_catalog_staged"


def erp_changes_asset():
    """The Airflow asset the ERP change watcher updates when the ERP changed the catalog since the cursors
    (:class:`erpsync.events.erp_watch.ErpChangeTrigger`, every ``[erpsync] erp_watch_seconds``), or None
    when the watcher is off."""
    from erpsync.tasks.defaults import erp_watch_seconds

    seconds = erp_watch_seconds()
    if not seconds:
        return None
    from airflow.sdk import Asset, AssetWatcher

    from erpsync.events.erp_watch import ErpChangeTrigger

    return Asset(ERP_CHANGES, watchers=[
        AssetWatcher(name="erpsync_erp_watch", trigger=ErpChangeTrigger(poll_seconds=seconds))])


def catalog_staged_asset():
    """The asset ``catalog_sync``'s staging updates when the ERP change watcher is on and there are further
    stores: their publishing runs right after the ERP's changes are staged, not at their next interval.
    None otherwise (their interval, as the primary's, is then the only clock)."""
    from erpsync.tasks.defaults import erp_watch_seconds

    if not erp_watch_seconds() or len(configured_stores()) < 2:
        return None
    from airflow.sdk import Asset

    return Asset(CATALOG_STAGED)


def store_events_asset(conn_id: str):
    """The Airflow asset the webhook receiver updates when the store announced a change its order flow
    must read (:mod:`erpsync.events.app`): the order flow runs on it at once, besides its interval."""
    from airflow.sdk import Asset

    return Asset(f"erpsync_store_events__{conn_id}")


def orders_schedule(slot: StoreSlot):
    """The schedule of a store's order flow: its interval (``[erpsync] orders_interval_seconds``, or
    ``orders_interval_seconds__<connection id>`` for this store alone: with webhooks, a slow safety net
    such as 300), or an event of the store (:func:`store_events_asset`),
    whichever comes first. Back to back ("@continuous", interval 0) takes no events: it needs none."""
    from erpsync.tasks.defaults import schedule_for

    timetable = schedule_for("orders", store=slot.conn_id)
    if timetable == "@continuous":
        return timetable
    from airflow.sdk import AssetOrTimeSchedule

    events = store_events_asset(slot.conn_id)
    return events if timetable is None else AssetOrTimeSchedule(timetable=timetable, assets=events)


def publish_schedule(slot: StoreSlot):
    """The schedule of the DAG that publishes to ``slot``'s store: the catalog interval (``[erpsync]
    catalog_interval_seconds``), or an update of any other store's :func:`orders_shared_asset`, or (with
    the ERP change watcher on) of :func:`erp_changes_asset` for the primary (``catalog_sync`` extracts and
    stages) and of :func:`catalog_staged_asset` for the others (they publish what it staged), whichever
    comes first. With one store and no watcher, the interval alone."""
    from erpsync.tasks.defaults import schedule_for

    timetable = schedule_for("catalog")
    others = [orders_shared_asset(s.conn_id) for s in configured_stores() if s.conn_id != slot.conn_id]
    catalog = erp_changes_asset() if slot.primary else catalog_staged_asset()
    assets = [*others, *([catalog] if catalog is not None else [])]
    if not assets or timetable == "@continuous":
        return timetable
    from airflow.sdk import AssetAny, AssetOrTimeSchedule

    any_of = AssetAny(*assets)
    return any_of if timetable is None else AssetOrTimeSchedule(timetable=timetable, assets=any_of)
