"""Row-level validation with Great Expectations: which rows failed which checks, so that bad rows go
to quarantine with their reasons and good rows go on.

One ephemeral Great Expectations context per process; a suite per dataset, built once. The frame gets
a ``_row`` column so every unexpected value maps back to its row.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from erpsync.quality.suites import Check

log = logging.getLogger(__name__)

ROW = "_row"


@dataclass
class Rejection:
    checks: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class ValidationResult:
    rows: int
    rejected: dict[int, Rejection]  # by positional row
    seconds: float

    @property
    def good_rows(self) -> list[int]:
        return [row for row in range(self.rows) if row not in self.rejected]

    def failures_by_check(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rejection in self.rejected.values():
            for check in rejection.checks:
                counts[check] = counts.get(check, 0) + 1
        return counts


@cache
def _context():
    # Great Expectations logs dozens of INFO lines while it imports: keep task logs about our data.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    started = time.monotonic()
    warm = "great_expectations" in sys.modules  # imported by the scheduler this process was forked from
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    log.info("Great Expectations ready in %.1f s (%s)", time.monotonic() - started,
             "imported before this process started" if warm else "imported by this process")
    return context


_validations: dict[tuple[str, str], tuple[Any, list[str] | None]] = {}
_COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list")


def _validation(dataset: str, checks: Sequence[Check]) -> tuple[Any, list[str] | None]:
    """The validation definition of ``dataset`` for these checks, built once per process, and the columns
    they read (None: any)."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    expectations = []
    for check in checks:
        expectation = check.build()
        expectation.meta = {"check": check.name}
        expectations.append(expectation)
    fingerprint = "|".join(repr(e.configuration.to_json_dict()) for e in expectations)
    key = (dataset, fingerprint)
    if key not in _validations:
        context = _context()
        name = f"{dataset}_{len(_validations)}"
        asset = context.data_sources.add_pandas(f"{name}_source").add_dataframe_asset(f"{name}_frame")
        batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch")
        suite = context.suites.add(ExpectationSuite(name=f"{name}_suite", expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
        )
        _validations[key] = definition, _columns_read(expectations)
    return _validations[key]


def _columns_read(expectations: list[Any]) -> list[str] | None:
    """The columns the expectations read, in first-read order; None when a row condition is more than a
    comparison on one column (it may read any column)."""
    columns: dict[str, None] = {}
    for expectation in expectations:
        arguments = expectation.configuration.kwargs
        if condition := arguments.get("row_condition"):
            column = _compared_column(condition)
            if column is None:
                return None
            columns[column] = None
        for name in _COLUMN_ARGUMENTS:
            value = arguments.get(name)
            columns.update(dict.fromkeys([value] if isinstance(value, str) else value or []))
    return list(columns)


def _compared_column(condition: Any) -> str | None:
    """The column of a one-column comparison condition (``Column("sold") == True``), else None."""
    if hasattr(condition, "dict") and not isinstance(condition, dict):
        condition = condition.dict()
    if not isinstance(condition, dict) or condition.get("type") != "comparison":
        return None
    column = condition.get("column")
    return column.get("name") if isinstance(column, dict) else None


def validate_frame(frame, checks: Sequence[Check], *, dataset: str) -> ValidationResult:
    """Run ``checks`` over ``frame`` (a pandas DataFrame); return which rows failed what."""
    started = time.monotonic()
    if frame.empty:
        return ValidationResult(0, {}, 0.0)
    by_name = {check.name: check for check in checks}
    definition, columns = _validation(dataset, checks)
    if columns is not None:
        # Great Expectations copies the rows of the whole frame for each check (filtering out nulls, then
        # the unexpected rows): the columns no check reads only cost time.
        frame = frame[[name for name in columns if name in frame.columns]]
    framed = frame.reset_index(drop=True).assign(**{ROW: range(len(frame))})
    result = definition.run(
        batch_parameters={"dataframe": framed},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]},
    )
    rejected: dict[int, Rejection] = {}
    for outcome in result.results:
        if outcome.success:
            continue
        name = (outcome.expectation_config.meta or {}).get("check")
        check = by_name[name]
        indexes = outcome.result.get("unexpected_index_list")
        if indexes is None:  # an expectation on the batch as a whole failed: it is a bug in the suite
            raise RuntimeError(f"{dataset}: check {name} failed without row indexes: {outcome.result}")
        for entry in indexes:
            rejection = rejected.setdefault(int(_row_of(entry)), Rejection())
            rejection.checks.append(name)
            rejection.reasons.append(check.reason)
    validation = ValidationResult(len(frame), rejected, time.monotonic() - started)
    log.info("validated %s: %d rows, %d rejected (%s) in %.2fs", dataset, len(frame), len(rejected),
             ", ".join(f"{k}={v}" for k, v in sorted(validation.failures_by_check().items())) or "none",
             validation.seconds)
    return validation


def _row_of(entry: Any) -> Any:
    return entry[ROW] if isinstance(entry, dict) else entry
