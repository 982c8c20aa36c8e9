import datetime as dt
from decimal import Decimal

import pytest

from erpsync.tryton import codec


def test_round_trip_of_the_types_json_lacks():
    value = {
        "when": dt.datetime(2026, 11, 27, 10, 30, 5, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 27),
        "price": Decimal("19.9900"),
        "blob": b"\x00\x01png",
        "delay": dt.timedelta(minutes=90),
        "nested": [Decimal("1.5"), {"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}],
    }
    assert codec.loads(codec.dumps(value)) == value


def test_aware_datetimes_are_sent_as_naive_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    sent = codec.loads(codec.dumps(dt.datetime(2026, 1, 1, 13, 0, tzinfo=paris)))
    assert sent == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_decimals_never_pass_through_float():
    assert codec.loads(codec.dumps(Decimal("0.1")))  == Decimal("0.1")
    assert '"decimal":"0.1"' in codec.dumps(Decimal("0.1")).decode()


def test_the_server_wire_format_is_decoded():
    body = b'{"result": {"__class__": "datetime", "year": 2026, "month": 2, "day": 3, "hour": 4,' \
           b' "minute": 5, "second": 6, "microsecond": 7}}'
    assert codec.loads(body)["result"] == dt.datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def test_unknown_types_are_refused():
    with pytest.raises(TypeError, match="cannot send object"):
        codec.dumps(object())
