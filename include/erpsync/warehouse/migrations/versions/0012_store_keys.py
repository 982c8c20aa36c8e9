"""Every sync-state key that is per store carries the store (several stores share one warehouse).

A column ``store`` (the store's name; ``''`` for a row of the ERP side) on raw_record, quarantine,
sync_cursor, row_error, sync_run, sync_step, review_decision and alert_state, part of each key.

Existing rows are of one store, the *default store*: the one distinct store name found in the tables
that already carry it (stg_order, stg_order_line, order_ledger, order_adjustment, published_variant,
published_inventory, publish_due). None found: nothing was ever per store, nothing moves. More than one:
the upgrade stops (it is for single-store data; a multi-store warehouse is already at this revision).

Which rows are the default store's (from the code that wrote them):

- raw_record, quarantine, sync_cursor: ``source = 'store'`` (the store's orders); the ERP's stay '';
- row_error, review_decision: the order flow's rows (``flow = 'orders'``: booking, confirming, changes,
  fulfillments) and the publish operations' (``publish_content``, ``publish_prices``,
  ``publish_inventory``); a decision is on one row of the error queue, so it follows the same rule;
- sync_run, sync_step: the runs and steps of the flows that work on one store, ``orders`` and
  ``reconcile``; the catalog flow's run starts from the ERP and stays '';
- alert_state: the alerts of those flows and of the store side: keys of DAGs ``orders_sync`` and
  ``reconcile``, of flows ``orders`` and ``reconcile`` (stale steps), the guardrail holds of a publish
  (``catalog_sync/guardrail/``) and the stuck rows of a flow whose error queue is per store
  (``catalog/stuck_rows``, ``orders/stuck_rows``). Their key gains the store in front
  (``<store>/<key>``), as the code now writes it. A whole flow's staleness (``orders/stale``,
  ``reconcile/stale``) is read from the run log over all stores and stays as it is.

The downgrade puts every row back to the keys without the store; it refuses when rows of two stores
would collide on one key (then the warehouse is no longer single-store).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 05:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

STORE_TABLES = ('stg_order', 'stg_order_line', 'order_ledger', 'order_adjustment', 'published_variant',
                'published_inventory', 'publish_due')
PUBLISH_OPERATIONS = ('publish_content', 'publish_prices', 'publish_inventory')
STORE_FLOWS = ('orders', 'reconcile')
STORE_ALERT_PREFIXES = ('orders_sync/', 'reconcile/', 'orders/', 'catalog_sync/guardrail/', 'catalog/stuck_rows')
FLOW_ALERTS = tuple(f'{flow}/stale' for flow in STORE_FLOWS)  # of the whole flow, not of one store

# table -> (its key without the store: the old primary key or unique constraint, and how it is named)
KEYS = {
    'sync_cursor': ('primary', 'pk_sync_cursor', ['source', 'entity']),
    'row_error': ('unique', 'uq_row_error_flow_entity_record_key_operation', ['flow', 'entity', 'record_key',
                                                                              'operation']),
    'sync_run': ('unique', 'uq_sync_run_flow_dag_id_run_id', ['flow', 'dag_id', 'run_id']),
    'sync_step': ('primary', 'pk_sync_step', ['flow', 'step']),
    'review_decision': ('primary', 'pk_review_decision', ['flow', 'entity', 'record_key', 'operation']),
}
# table -> (old index name, its columns), (new index name, its columns)
INDEXES = {
    'raw_record': (('ix_raw_record_source_entity_record_key', ['source', 'entity', 'record_key']),
                   ('ix_raw_record_store_source_entity_record_key', ['store', 'source', 'entity', 'record_key'])),
    'quarantine': (('ix_quarantine_source_entity_record_key_status', ['source', 'entity', 'record_key', 'status']),
                   ('ix_quarantine_store_source_entity_record_key_status',
                    ['store', 'source', 'entity', 'record_key', 'status'])),
    'sync_run': (('ix_sync_run_flow_finished_at', ['flow', 'finished_at']),
                 ('ix_sync_run_store_flow_finished_at', ['store', 'flow', 'finished_at'])),
}
ALERT_KEY_COMMENT = ('the ongoing problem, e.g. catalog_sync/guardrail',
                     "the ongoing problem, e.g. catalog_sync/guardrail; a store's alert starts with the store")
TABLES = ('raw_record', 'quarantine', 'sync_cursor', 'row_error', 'sync_run', 'sync_step', 'review_decision',
          'alert_state')


def _new_name(table: str, kind: str, name: str, columns: list[str]) -> str:
    """The key's name once it leads with the store (the schema's naming convention: a primary key keeps it)."""
    return name if kind == 'primary' else f"uq_{table}_{'_'.join(['store', *columns])}"


def default_store(conn) -> str | None:
    found: set[str] = set()
    for table in STORE_TABLES:
        found.update(conn.execute(sa.text(f'SELECT DISTINCT store FROM {table}')).scalars())  # noqa: S608
    found.discard('')
    if len(found) > 1:
        raise RuntimeError(
            f"migration 0012 moves single-store data to its store, but the warehouse holds rows of "
            f"{len(found)} stores ({', '.join(sorted(found))}); it cannot tell which store the cursors, errors "
            "and runs belong to")
    return next(iter(found), None)


def _per_store(t: sa.TableClause):
    """The condition that picks the default store's rows of table ``t`` (see the module's doc)."""
    table = t.name
    if table in ('raw_record', 'quarantine', 'sync_cursor'):
        return t.c.source == 'store'
    if table in ('row_error', 'review_decision'):
        return sa.or_(t.c.flow == 'orders', t.c.operation.in_(PUBLISH_OPERATIONS))
    if table in ('sync_run', 'sync_step'):
        return t.c.flow.in_(STORE_FLOWS)
    return sa.and_(sa.or_(*(t.c.alert_key.startswith(prefix, autoescape=True) for prefix in STORE_ALERT_PREFIXES)),
                   t.c.alert_key.not_in(FLOW_ALERTS))


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('store', sa.String(length=64), server_default='', nullable=False,
                                       comment="the store it is of; '' for the ERP side"))
    _comment_alert_key(*ALERT_KEY_COMMENT)
    conn = op.get_bind()
    store = default_store(conn)
    if store is not None:
        for table in TABLES:
            t = sa.table(table, *(sa.column(c) for c in ('store', 'source', 'flow', 'operation', 'alert_key')))
            values = {'store': store}
            if table == 'alert_state':
                values['alert_key'] = sa.literal(f'{store}/') + t.c.alert_key
            conn.execute(t.update().where(_per_store(t)).values(**values))
    for table, (kind, name, columns) in KEYS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_=kind)
            if kind == 'primary':
                batch.create_primary_key(name, ['store', *columns])
            else:
                batch.create_unique_constraint(_new_name(table, kind, name, columns), ['store', *columns])
    for table, ((old, _), (new, columns)) in INDEXES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(old)
            batch.create_index(new, columns, unique=False)


def downgrade() -> None:
    conn = op.get_bind()
    for table, (kind, name, columns) in KEYS.items():
        t = sa.table(table, *(sa.column(c) for c in columns))
        collisions = conn.execute(sa.select(sa.func.count()).select_from(
            sa.select(*t.c).group_by(*t.c).having(sa.func.count() > 1).subquery())).scalar_one()
        if collisions:
            raise RuntimeError(
                f"cannot downgrade 0012: {collisions} key(s) of {table} ({', '.join(columns)}) are held by rows of "
                "more than one store; without the store column they would collide")
    alerts = sa.table('alert_state', sa.column('store'), sa.column('alert_key'))
    stores = conn.execute(sa.select(alerts.c.store).where(alerts.c.store != '').distinct()).scalars().all()
    if len(stores) > 1:
        raise RuntimeError(f"cannot downgrade 0012: alert_state holds alerts of {len(stores)} stores "
                           f"({', '.join(sorted(stores))}); without the store in their keys they would collide")
    for store in stores:
        conn.execute(alerts.update().where(alerts.c.store == store,
                                           alerts.c.alert_key.startswith(f'{store}/', autoescape=True))
                     .values(alert_key=sa.func.substr(alerts.c.alert_key, len(store) + 2)))
    for table, ((old, old_columns), (new, _)) in INDEXES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(new)
            batch.create_index(old, old_columns, unique=False)
    for table, (kind, name, columns) in KEYS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_new_name(table, kind, name, columns), type_=kind)
            if kind == 'primary':
                batch.create_primary_key(name, columns)
            else:
                batch.create_unique_constraint(name, columns)
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('store')
    _comment_alert_key(*reversed(ALERT_KEY_COMMENT))


def _comment_alert_key(existing: str, comment: str) -> None:
    with op.batch_alter_table('alert_state') as batch:
        batch.alter_column('alert_key', existing_type=sa.String(length=200), existing_nullable=False,
                           existing_comment=existing, comment=comment)
