"""The CeleryExecutor, giving back the slots of tasks whose worker died after they ended.

Airflow's CeleryExecutor counts a task as running, one of ``[core] parallelism`` slots, from the moment it
sends it until the Celery result backend says it succeeded or failed. A worker killed (``kill -9``, the
OOM killer, a lost host) after its task ended but before it stored the task's Celery result leaves that
result pending for ever: the task instance is finished in the metadata database, and the scheduler still
counts its slot taken until the scheduler restarts (Airflow issues 36335 and 43448 describe the same).
Measured by ``make chaos`` on 2026-12-07: each of the two worker kills left one such slot, so four slots
became two, and the order flow's booking waited 1 min 43 s behind the catalog's catch-up runs (fresh
again 141 s after the second kill, against 31 s after the first). A task the killed worker was still
running is Airflow's own business: the heartbeat timeout fails it and gives its slot back.

This executor looks, every ``CHECK_INTERVAL_S``, at the task instances of the tries it still counts as
running, and gives back the slot of every try the database says is over (:func:`try_is_over`). A false
"over" costs little: one task more is sent, and it waits in the broker's queue for a worker's slot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable

from airflow.providers.celery.executors.celery_executor import CeleryExecutor as _AirflowCeleryExecutor

# How often the tries counted as running are checked against the database (one small query).
CHECK_INTERVAL_S = 10.0
# How long after its task instance ended a try may still be counted: a live worker stores the Celery
# result within a second or two of the task's end (its supervisor's last calls).
GRACE_S = 30.0

# The states in which a try has ended: the scheduler moves an instance to none of them while its try runs.
ENDED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed", "up_for_retry",
                   "up_for_reschedule"})


@dataclasses.dataclass(frozen=True)
class InstanceNow:
    """A task instance as the metadata database has it now."""

    try_number: int
    state: str | None
    end_date: dt.datetime | None


def try_is_over(counted_try: int, now_in_db: InstanceNow | None, *, now: dt.datetime,
                grace: dt.timedelta) -> bool:
    """Whether the try ``counted_try`` of a task instance, counted by the executor as running, is over:
    the instance has a later try, or it is in this try and in a state it only reaches once the try has
    ended, at least ``grace`` ago. An instance no longer in the database (its run deleted) is left to
    Airflow: nothing says when it ended."""
    if now_in_db is None:
        return False
    if now_in_db.try_number > counted_try:
        return True
    return (now_in_db.try_number == counted_try and now_in_db.state in ENDED
            and now_in_db.end_date is not None and now - now_in_db.end_date >= grace)


class CeleryExecutor(_AirflowCeleryExecutor):
    """Airflow's CeleryExecutor (``[core] executor = erpsync.celery_executor.CeleryExecutor``), with the
    slots of tries whose result will never come given back (the module's docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._checked_at = time.monotonic()

    def sync(self) -> None:
        super().sync()
        if time.monotonic() - self._checked_at < CHECK_INTERVAL_S:
            return
        self._checked_at = time.monotonic()
        try:
            self.give_back_ended_slots()
        except Exception:  # the metadata database unreachable a moment: the next check tries again
            self.log.warning("Could not check the running tries against the metadata database", exc_info=True)

    def give_back_ended_slots(self) -> list:
        """Give back the slot of every try counted as running that the database says is over; the keys
        given back."""
        from airflow.models.taskinstancekey import TaskInstanceKey

        counted = [key for key in self.running if isinstance(key, TaskInstanceKey)]
        if not counted:
            return []
        found = _instances_now(counted)
        now = dt.datetime.now(dt.UTC)
        grace = dt.timedelta(seconds=GRACE_S)
        over = [key for key in counted
                if try_is_over(key.try_number, found.get(key.primary), now=now, grace=grace)]
        for key in over:
            instance = found[key.primary]
            self.log.warning(
                "Giving back the executor slot of %s try %s: the task instance is %s (try %s, ended %s) but "
                "its Celery result never came (its worker died after the task ended)",
                key.primary, key.try_number, instance.state, instance.try_number, instance.end_date)
            self.running.discard(key)
            self.workloads.pop(key, None)
        return over


def _instances_now(keys: Iterable) -> dict[tuple, InstanceNow]:
    """The task instances of ``keys`` as the metadata database has them, by their primary key
    ``(dag_id, task_id, run_id, map_index)``."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select, tuple_

    wanted = sorted({key.primary for key in keys})
    columns = (TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.run_id, TaskInstance.map_index)
    with create_session() as session:
        rows = session.execute(
            select(*columns, TaskInstance.try_number, TaskInstance.state, TaskInstance.end_date)
            .where(tuple_(*columns).in_(wanted))
        ).all()
    # The state as its plain value, whether the column gives a string or Airflow's TaskInstanceState.
    return {tuple(row[:4]): InstanceNow(row.try_number, getattr(row.state, "value", row.state), row.end_date)
            for row in rows}
