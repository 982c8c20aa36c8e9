"""Housekeeping's pure decisions: which fields are personal data, and the cut-offs (from the run's data
interval end, never the clock)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.housekeeping.policy import PERSONAL_FIELDS, RetentionConfig, cutoffs, without_personal_data

KEYS = st.sampled_from(sorted(PERSONAL_FIELDS | {"order_id", "sku", "quantity", "country_code", "lines",
                                                 "customer", "shipping_address", "customer_id", "name"}))
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                         max_leaves=30)


def personal_scalars(value) -> list:
    """Every non-empty scalar under a personal key, written out here (not the product's walk)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PERSONAL_FIELDS and not isinstance(item, dict | list):
                if item not in (None, ""):
                    found.append(item)
            else:
                found.extend(personal_scalars(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(personal_scalars(item))
    return found


def shape(value):
    """The document with every scalar under a personal key replaced by a marker: what must survive."""
    if isinstance(value, dict):
        return {k: "<personal>" if k in PERSONAL_FIELDS and not isinstance(v, dict | list) else shape(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


@given(DOCUMENTS)
def test_personal_fields_are_blanked_everything_else_kept_and_a_second_pass_finds_nothing(document):
    clean, blanked = without_personal_data(document)
    assert personal_scalars(clean) == []
    assert blanked == len(personal_scalars(document))
    assert shape(clean) == shape(document)
    assert without_personal_data(clean) == (clean, 0)


def test_an_order_payload_keeps_what_the_flows_need_and_loses_who_bought_it():
    order = {"order_id": "gid://shopify/Order/7", "name": "#1007", "currency": "USD",
             "customer": {"customer_id": None, "email": "ada@example.com", "first_name": "Ada", "last_name": "Jensen"},
             "shipping_address": {"first_name": "Ada", "last_name": "Jensen", "company": None,
                                  "address1": "1 Oak Avenue", "address2": "", "city": "Austin", "zip": "73301",
                                  "province_code": "TX", "country_code": "US", "phone": "+1 512 555 0100"},
             "billing_address": None, "lines": [{"line_id": "1", "sku": "APR-0001-OLV", "quantity": 2}],
             "total": "40.00"}
    clean, blanked = without_personal_data(order)
    assert blanked == 9  # e-mail and 2 names; 2 names, street, city, zip, phone (None and "" hold nothing)
    assert clean["customer"] == {"customer_id": None, "email": None, "first_name": None, "last_name": None}
    assert clean["shipping_address"]["country_code"] == "US" and clean["shipping_address"]["province_code"] == "TX"
    assert {k: clean[k] for k in ("order_id", "name", "currency", "lines", "total", "billing_address")} == {
        k: order[k] for k in ("order_id", "name", "currency", "lines", "total", "billing_address")}
    assert "ada" not in str(clean).lower() and "555" not in str(clean) and "Oak" not in str(clean)


AS_OF = dt.datetime(2026, 12, 4, 3, 17, tzinfo=dt.UTC)


def test_cutoffs_count_back_from_the_runs_data_interval_end():
    cut = cutoffs(RetentionConfig(raw_days=14, run_log_days=90, closed_days=30, personal_data_days=7), AS_OF)
    assert cut.raw == dt.datetime(2026, 11, 20, 3, 17, tzinfo=dt.UTC)
    assert cut.run_log == dt.datetime(2026, 9, 5, 3, 17, tzinfo=dt.UTC)
    assert cut.closed == dt.datetime(2026, 11, 4, 3, 17, tzinfo=dt.UTC)
    assert cut.personal_data == dt.datetime(2026, 11, 27, 3, 17, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="timezone"):
        cutoffs(RetentionConfig(), AS_OF.replace(tzinfo=None))


def test_the_variable_has_defaults_and_a_bad_field_is_named():
    assert RetentionConfig.parse(None) == RetentionConfig.parse("") == RetentionConfig()
    assert RetentionConfig.parse('{"raw_days": 3}').raw_days == 3
    with pytest.raises(ValueError, match="(?s)erpsync_retention.*raw_days"):
        RetentionConfig.parse('{"raw_days": 0}')
    with pytest.raises(ValueError, match="(?s)erpsync_retention.*raw_dys"):
        RetentionConfig.parse('{"raw_dys": 3}')
