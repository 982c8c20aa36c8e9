import datetime as dt
import json
from decimal import Decimal

import pytest

from erpsync.common.jsontext import dumps_function

VALUES = [
    "plain", "é \" \\ \n \t \x07 😀", 1, -0.0, 1.5, 1e300, float("nan"), float("inf"), None, True, False,
    [], {}, ["a", None, 1.5, [True, {}]], ("a", None, "", True), {"b": 1, "a": [1, None], "c": {"é": "ü"}},
    {1: "an int key", 2.5: "a float key", None: "a null key", False: "a bool key"},
]


@pytest.mark.parametrize("options", [{}, {"sort_keys": True, "default": str}, {"ensure_ascii": False},
                                     {"separators": (",", ":")}, {"indent": 2}])
def test_the_text_is_json_dumps_to_the_character(options):
    dumps = dumps_function(**options)
    for value in VALUES:
        assert outcome(dumps, value) == outcome(lambda v: json.dumps(v, **options), value)


def outcome(dumps, value) -> str:
    try:
        return dumps(value)
    except TypeError as error:  # e.g. sort_keys over keys that do not compare
        return f"TypeError: {error}"


@pytest.mark.parametrize("value", [Decimal("1.5"), dt.datetime(2026, 1, 1), {"on": dt.date(2026, 1, 1)}, {1}])
def test_what_json_dumps_refuses_is_refused(value):
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(value)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_function()(value)


def test_a_default_serializes_what_json_cannot():
    assert dumps_function(default=str)([Decimal("1.50"), dt.date(2026, 1, 1)]) == '["1.50", "2026-01-01"]'
