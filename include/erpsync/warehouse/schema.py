"""The warehouse schema, declared once (SQLAlchemy Core) for PostgreSQL and SQLite alike.

Layers (see ARCHITECTURE.md, "Warehouse"):

- raw: ``raw_record``, an append-only landing of every extracted record, tagged with its batch and run;
- staging: the current validated state per key (``stg_product``, ``stg_offer``: how each further web
  shop offers it, ``stg_stock_level``, ``stg_order``, ``stg_order_line``);
- quarantine: ``quarantine``, rejected rows with the expectations they failed and their payload;
- sync state: ``sync_cursor`` (per source and entity), ``published_variant`` / ``published_inventory``
  (what the store was last told), ``publish_due`` (what staging changed that a store's publish step
  has not looked at yet), ``order_ledger`` (store order -> ERP sale, exactly once),
  ``row_error`` (row-level failures and their retries), ``sync_run`` (one row per flow run),
  ``sync_step`` (per flow and step: its last success and its last failure, with the error it raised),
  ``review_decision`` (what a person decided in Airflow on a held change or a given-up row),
  ``alert_state`` (which alerts are firing: repeats are suppressed, recoveries announced),
  ``store_event`` (the inbox of store webhooks: each delivery, verified or refused, and what it caused).

Several stores share one warehouse: every row that is of one store says which (column ``store``, the
store's name; ``''`` for a row of the ERP side), and every key of such a row includes it, so two stores
never share a cursor, an error, a run, a step's freshness, a decision or an alert.

Alembic migrations under ``migrations/versions`` create these tables; a test proves that migrating to
head yields exactly this metadata on both engines (``alembic check``), so the two never drift.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from erpsync.warehouse.types import UtcDateTime

# Constraint names are part of the schema (migrations refer to them): make them deterministic.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(18, 4)
Quantity = Numeric(18, 4)


def ts(name: str, **kwargs) -> Column:
    """A timezone-aware timestamp column (stored as UTC)."""
    return Column(name, UtcDateTime(), **kwargs)


NOT_OF_A_STORE = ""  # the store of a row that is not of one store: the ERP side


def store_column(**kwargs) -> Column:
    """The store a sync-state row is of (``Store.name``); ``''`` for a row of the ERP side."""
    return Column("store", String(64), nullable=False, server_default=NOT_OF_A_STORE,
                  comment="the store it is of; '' for the ERP side", **kwargs)


# -- raw --------------------------------------------------------------------------------------------

raw_record = Table(
    "raw_record",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("source", String(32), nullable=False, comment="erp | store"),
    Column("entity", String(32), nullable=False, comment="product | stock_level | order ..."),
    Column("record_key", String(255), nullable=False, comment="the natural key, e.g. the SKU"),
    Column("batch_id", String(64), nullable=False),
    Column("run_id", String(250), nullable=True, comment="the Airflow run that extracted it"),
    ts("extracted_at", nullable=False),
    ts("source_updated_at", nullable=True, comment="the record's modification time in its source"),
    Column("payload", Json, nullable=False),
    ts("personal_data_purged_at", nullable=True, comment="when housekeeping blanked the payload's personal data"),
    Index(None, "source", "entity", "batch_id"),
    Index(None, "store", "source", "entity", "record_key"),
    Index(None, "extracted_at"),  # housekeeping deletes by age, in batches: each batch finds its rows at once
)

# -- staging ----------------------------------------------------------------------------------------

stg_product = Table(
    "stg_product",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("erp_product_id", Integer, nullable=False, unique=True),
    Column("erp_template_id", Integer, nullable=False, index=True),
    Column("template_code", String(128), nullable=True),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("image_urls", Json, nullable=True),
    Column("image_version", String(1000), nullable=True, comment="changes when the ERP's images change"),
    Column("categories", Json, nullable=True),
    Column("unit", String(32), nullable=True),
    Column("list_price", Money, nullable=True),
    Column("sale_price", Money, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("salable", Boolean, nullable=False),
    Column("in_web_shop", Boolean, nullable=False, server_default=true(),
           comment="the ERP's web shop lists it: only then is it sold in the store"),
    ts("source_updated_at", nullable=False),
    Column("content_hash", String(64), nullable=False, comment="of the fields the store shows"),
    Column("batch_id", String(64), nullable=False),
    ts("staged_at", nullable=False),
)

# How each ERP web shop other than ``erp_default``'s (the other stores' own) offers each staged variant;
# stg_product holds that one's (in_web_shop, sale_price). No row: the web shop was not asked yet.
stg_offer = Table(
    "stg_offer",
    metadata,
    Column("web_shop", String(255), primary_key=True, comment="the ERP web shop's name"),
    Column("erp_product_id", Integer, primary_key=True),
    Column("sku", String(128), nullable=False, index=True),
    Column("listed", Boolean, nullable=False, comment="the web shop lists it: only then does its store sell it"),
    Column("sale_price", Money, nullable=True, comment="from the web shop's own sale price list"),
    Column("currency", String(3), nullable=False),
    ts("source_updated_at", nullable=False),
    Column("batch_id", String(64), nullable=False),
    ts("staged_at", nullable=False),
)

stg_stock_level = Table(
    "stg_stock_level",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("warehouse_code", String(64), primary_key=True),
    Column("erp_product_id", Integer, nullable=False),
    Column("erp_warehouse_id", Integer, nullable=False),
    Column("quantity", Quantity, nullable=False),
    Column("forecast_quantity", Quantity, nullable=False),
    ts("as_of", nullable=True, comment="when the ERP was read: an older read never replaces a newer one"),
    Column("batch_id", String(64), nullable=False),
    ts("staged_at", nullable=False),
    Index(None, "erp_product_id"),
)

stg_order = Table(
    "stg_order",
    metadata,
    Column("store", String(64), primary_key=True, comment="which store (one per Connection)"),
    Column("store_order_id", String(128), primary_key=True),
    Column("order_name", String(64), nullable=True),
    ts("store_created_at", nullable=False),
    ts("store_updated_at", nullable=False),
    Column("currency", String(3), nullable=False),
    Column("financial_status", String(32), nullable=True),
    Column("fulfillment_status", String(32), nullable=True),
    ts("cancelled_at", nullable=True),
    Column("cancel_reason", String(64), nullable=True),
    Column("customer_ref", String(128), nullable=True, comment="the store's customer id"),
    Column("customer", Json, nullable=True, comment="name and contact, personal data"),
    Column("shipping_address", Json, nullable=True),
    Column("billing_address", Json, nullable=True),
    Column("subtotal", Money, nullable=False),
    Column("discount_total", Money, nullable=False),
    Column("shipping_total", Money, nullable=False),
    Column("tax_total", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("refunded_total", Money, nullable=False, server_default="0"),
    Column("refunds", Json, nullable=True, comment="the store's refunds: id, lines (line id, quantity, restock)"),
    Column("edits", Json, nullable=True,
           comment="the store's edits of the order: id, when, lines (line id, units added or removed)"),
    Column("returns", Json, nullable=True,
           comment="the store's processed returns: id, when, lines returned (restocked where), lines given "
                   "in exchange"),
    Column("taxes_included", Boolean, nullable=False, server_default=false(),
           comment="prices include the tax: tax_total is part of the lines, discounts and shipping"),
    Column("store_version", String(255), nullable=True,
           comment="what of the order the flows act on, as the store's cheap read says it (null: not said)"),
    Column("requires_shipping", Boolean, nullable=False),
    Column("store_location", String(128), nullable=True,
           comment="the one store location the goods are taken from (its name); null: several, or not said"),
    Column("batch_id", String(64), nullable=False),
    ts("staged_at", nullable=False),
    ts("personal_data_purged_at", nullable=True, comment="when housekeeping blanked the customer and addresses"),
    Index(None, "store", "store_updated_at"),
)

stg_order_line = Table(
    "stg_order_line",
    metadata,
    Column("store", String(64), primary_key=True),
    Column("store_order_id", String(128), primary_key=True),
    Column("store_line_id", String(128), primary_key=True),
    Column("sku", String(128), nullable=True),
    Column("title", String(255), nullable=True),
    Column("quantity", Quantity, nullable=False, comment="as ordered"),
    Column("current_quantity", Quantity, nullable=False, comment="after edits, refunds and removals"),
    Column("unit_price", Money, nullable=False),
    Column("discount_total", Money, nullable=False),
    Column("tax_total", Money, nullable=False),
    Column("requires_shipping", Boolean, nullable=False),
    Column("batch_id", String(64), nullable=False),
    ts("staged_at", nullable=False),
    Index(None, "sku"),
)

# -- quarantine -------------------------------------------------------------------------------------

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("source", String(32), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("run_id", String(250), nullable=True),
    Column("failed_expectations", Json, nullable=False, comment="names of the expectations the row failed"),
    Column("reason", Text, nullable=False, comment="for people: what is wrong and how to fix it"),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    ts("quarantined_at", nullable=False),
    ts("resolved_at", nullable=True),
    ts("expires_at", nullable=True),
    ts("personal_data_purged_at", nullable=True, comment="when housekeeping blanked the payload's personal data"),
    CheckConstraint("status IN ('open', 'released', 'superseded', 'expired')", name="status"),
    Index(None, "store", "source", "entity", "record_key", "status"),
    Index(None, "status", "quarantined_at"),
)

# -- sync state -------------------------------------------------------------------------------------

sync_cursor = Table(
    "sync_cursor",
    metadata,
    store_column(primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("entity", String(32), primary_key=True),
    ts("cursor_at", nullable=False, comment="end of the last committed window"),
    Column("run_id", String(250), nullable=True),
    ts("updated_at", nullable=False),
)

published_variant = Table(
    "published_variant",
    metadata,
    Column("store", String(64), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("store_product_id", String(128), nullable=True),
    Column("store_variant_id", String(128), nullable=True),
    Column("store_inventory_item_id", String(128), nullable=True),
    Column("price", Money, nullable=True),
    Column("compare_at_price", Money, nullable=True),
    Column("status", String(16), nullable=True, comment="ACTIVE | ARCHIVED | DRAFT as the store has it"),
    Column("content_hash", String(64), nullable=True),
    ts("published_at", nullable=False),
    Column("run_id", String(250), nullable=True),
    Index(None, "store", "store_variant_id"),
)

published_inventory = Table(
    "published_inventory",
    metadata,
    Column("store", String(64), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("location_key", String(128), primary_key=True, comment="the store location's id"),
    Column("quantity", Integer, nullable=False, comment="available, as last set in or read from the store"),
    ts("published_at", nullable=False),
    ts("store_confirmed_at", nullable=True,
       comment="when the store applied our last write, by the store's clock; null: read, not written"),
    Column("run_id", String(250), nullable=True),
    # A hold (erpsync.sync.catalog.cas.Hold): units stale compares took off that no staged order explained.
    Column("held_units", Integer, nullable=True,
           comment="units a stale compare took off that no staged order accounted for; null: no hold"),
    ts("held_from", nullable=True,
       comment="the store's time of our write the hold counts from (null: unstamped)"),
    ts("held_until", nullable=True, comment="the store's time of the read that found the drop"),
    Column("held_known", Integer, nullable=True,
           comment="units of staged orders of the hold's window the desired level held back when it was set"),
)

publish_due = Table(
    "publish_due",
    metadata,
    Column("store", String(64), primary_key=True),
    Column("step", String(32), primary_key=True, comment="publish_content | publish_prices | publish_inventory"),
    Column("sku", String(128), primary_key=True),
    Column("token", String(36), nullable=False, comment="which staging marked it: a later mark replaces it"),
    ts("marked_at", nullable=False),
)

order_ledger = Table(
    "order_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("store", String(64), nullable=False),
    Column("store_order_id", String(128), nullable=False),
    Column("order_name", String(64), nullable=True),
    Column("state", String(24), nullable=False),
    Column("erp_sale_id", Integer, nullable=True, unique=True),
    Column("erp_sale_number", String(64), nullable=True),
    ts("store_updated_at", nullable=True, comment="the order version last applied to the ERP"),
    ts("erp_confirmed_at", nullable=True, comment="from then on the ERP's stock forecast counts the sale"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_by", String(250), nullable=True, comment="the run whose booking attempt claimed it (pending)"),
    Column("last_error", Text, nullable=True),
    Column("store_fulfillment_ids", Json, nullable=True),
    ts("store_echo_at", nullable=True, comment="the order's last change as our last fulfillment left it"),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    UniqueConstraint("store", "store_order_id"),
    CheckConstraint(
        "state IN ('pending', 'held', 'created', 'confirmed', 'cancelled', 'cancel_failed',"
        " 'fulfilled', 'failed')",
        name="state",
    ),
    Index(None, "state", "updated_at"),
)

order_adjustment = Table(
    "order_adjustment",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("store", String(64), nullable=False),
    Column("store_order_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False, comment="refund | cancel | edit | return | exchange"),
    Column("store_ref", String(128), nullable=False,
           comment="the store's refund, edit or return id; 'cancel' for a cancellation"),
    Column("state", String(16), nullable=False),
    Column("erp_sale_id", Integer, nullable=True, comment="the return sale that books a refund"),
    Column("detail", Text, nullable=True, comment="why it could not be applied, for people"),
    ts("told_at", nullable=True, comment="an edit: when the store was told of all its sale shipped"),
    ts("erp_counted_at", nullable=True,
       comment="an applied edit or exchange: from then on the ERP's stock forecast counts its units"),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    UniqueConstraint("store", "store_order_id", "kind", "store_ref"),
    CheckConstraint("kind IN ('refund', 'cancel', 'edit', 'return', 'exchange')", name="kind"),
    # fulfilled: an exchange whose sale the ERP shipped and the store was told of
    CheckConstraint("state IN ('pending', 'applied', 'not_possible', 'failed', 'fulfilled')", name="state"),
    Index(None, "state", "updated_at"),
)

row_error = Table(
    "row_error",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("flow", String(32), nullable=False, comment="catalog | orders | fulfillment ..."),
    Column("entity", String(32), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("operation", String(64), nullable=False, comment="e.g. publish_inventory, create_sale"),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("error_kind", String(64), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
    ts("first_failed_at", nullable=False),
    ts("last_failed_at", nullable=False),
    ts("next_attempt_at", nullable=True),
    ts("resolved_at", nullable=True),
    Column("run_id", String(250), nullable=True),
    Column("payload", Json, nullable=True),
    UniqueConstraint("store", "flow", "entity", "record_key", "operation"),
    CheckConstraint("status IN ('open', 'resolved', 'given_up')", name="status"),
    Index(None, "status", "next_attempt_at"),
)

sync_run = Table(
    "sync_run",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("flow", String(32), nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    ts("logical_date", nullable=True),
    ts("window_start", nullable=True),
    ts("window_end", nullable=True),
    Column("status", String(16), nullable=False),
    ts("started_at", nullable=False),
    ts("finished_at", nullable=True),
    Column("counts", Json, nullable=False, comment="rows extracted, staged, quarantined, published..."),
    Column("timings", Json, nullable=False, comment="seconds per stage"),
    Column("error", Text, nullable=True),
    UniqueConstraint("store", "flow", "dag_id", "run_id"),
    CheckConstraint("status IN ('running', 'success', 'failed', 'held')", name="status"),
    Index(None, "store", "flow", "finished_at"),
)

sync_step = Table(
    "sync_step",
    metadata,
    store_column(primary_key=True),
    Column("flow", String(32), primary_key=True),
    Column("step", String(64), primary_key=True, comment="the step's task id in the flow's DAG"),
    Column("dag_id", String(250), nullable=False),
    ts("last_success_at", nullable=True),
    Column("last_success_run_id", String(250), nullable=True),
    ts("last_failed_at", nullable=True),
    Column("last_failed_run_id", String(250), nullable=True),
    Column("last_error", Text, nullable=True, comment="the exception the step raised, first line"),
    Column("last_error_run_id", String(250), nullable=True),
    Column("last_error_try", Integer, nullable=True, comment="the try whose log shows that exception"),
)

review_decision = Table(
    "review_decision",
    metadata,
    store_column(primary_key=True),
    Column("flow", String(32), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("record_key", String(255), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("subject", Text, nullable=False,
           comment="what was decided on: the held value (a price, 'unpublish') or the given-up failure's time"),
    Column("decision", String(16), nullable=False),
    Column("decided_by", String(250), nullable=True, comment="the Airflow user; empty when the wait timed out"),
    ts("decided_at", nullable=False),
    Column("review_run_id", String(250), nullable=False, comment="the run of DAG review_held that asked"),
    CheckConstraint("decision IN ('approved', 'rejected', 'retry', 'leave')", name="decision"),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("alert_key", String(200), primary_key=True,
           comment="the ongoing problem, e.g. catalog_sync/guardrail; a store's alert starts with the store"),
    store_column(),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("details", Json, nullable=True),
    Column("occurrences", Integer, nullable=False, server_default="1"),
    ts("first_seen_at", nullable=False),
    ts("last_seen_at", nullable=False),
    ts("last_sent_at", nullable=True),
    ts("resolved_at", nullable=True),
    Column("dag_id", String(250), nullable=True),
    Column("run_id", String(250), nullable=True),
    CheckConstraint("status IN ('firing', 'resolved')", name="status"),
)


store_event = Table(
    "store_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("event_id", String(128), nullable=True,
           comment="the store's event id (deliveries of one event share it); "
                   "NULL when the delivery was refused"),
    Column("topic", String(64), nullable=False, comment="e.g. orders/create"),
    Column("resource", String(128), nullable=True,
           comment="what changed, e.g. gid://shopify/Order/1 (no payload)"),
    ts("resource_updated_at", nullable=True, comment="the resource's version, the store's clock"),
    ts("triggered_at", nullable=True, comment="when the store says the event happened"),
    ts("received_at", nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=True, comment="why it caused no run, for people"),
    Column("deliveries", Integer, nullable=False, server_default="1", comment="times it was delivered"),
    UniqueConstraint("store", "event_id"),
    CheckConstraint("outcome IN ('run', 'run_failed', 'ignored', 'echo', 'stale', 'refused')",
                    name="outcome"),
    Index(None, "store", "received_at"),
)


customer_link = Table(
    "customer_link",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    store_column(),
    Column("customer_id", String(128), nullable=False, comment="the store's customer account id"),
    Column("party_id", Integer, nullable=False, comment="the ERP party of that account"),
    Column("origin", String(8), nullable=False,
           comment="erp: the account was made from the party; store: the party from the account; "
                   "matched: both existed"),
    ts("linked_at", nullable=False),
    UniqueConstraint("store", "customer_id"),
    CheckConstraint("origin IN ('erp', 'store', 'matched')", name="origin"),
    Index(None, "store", "party_id"),
)
