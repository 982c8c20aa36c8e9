"""The customer matching rule, property-based: the same person, written differently on two orders (case,
spaces, punctuation, phone formatting), is one identity; e-mail before phone before name and address;
a guest with none of these is the order alone."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.orders.customers import (ADDRESS, EMAIL, ORDER, PHONE, Identity, identifying_address,
                                          identity, normal_phone)

digits = st.text("0123456789", min_size=7, max_size=15)
separators = st.lists(st.sampled_from(["", " ", "-", ".", "(", ")"]), min_size=16, max_size=16)
names = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)


def formatted(number: str, seps: list[str], prefix: str = "+") -> str:
    """``number`` as a person might write it: separators between its digits."""
    return prefix + "".join(d + s for d, s in zip(number, seps, strict=False))


def order(order_id: str = "gid://shopify/Order/1", email=None, phone=None, first="Ada", last="Jensen",
          address1="1 Oak Avenue", zip_code="73301", city="Austin", country="US") -> dict:
    address = {"first_name": first, "last_name": last, "address1": address1, "address2": None, "city": city,
               "zip": zip_code, "country_code": country, "phone": phone} if address1 else None
    return {"store_order_id": order_id, "customer": {"email": email, "first_name": first, "last_name": last},
            "shipping_address": address, "billing_address": address}


@given(number=digits, seps=separators, other=separators)
def test_a_phone_however_written_is_one_number(number, seps, other):
    assert normal_phone(formatted(number, seps)) == normal_phone(formatted(number, other)) == "+" + number
    assert normal_phone(formatted(number, seps, prefix="00")) == "+" + number
    assert normal_phone(normal_phone(formatted(number, seps))) == "+" + number


@given(number=st.text("0123456789", max_size=6), seps=separators)
def test_fewer_than_seven_digits_is_no_phone(number, seps):
    assert normal_phone(formatted(number, seps)) is None


@given(email=st.emails(), phone=digits, spaces=st.text(" ", max_size=2))
def test_the_e_mail_comes_first_whatever_its_case_and_spaces(email, phone, spaces):
    one = identity(order("gid://shopify/Order/1", email=email, phone="+" + phone))
    other = identity(order("gid://shopify/Order/2", email=spaces + email.upper() + spaces, phone=None))
    assert one == other == Identity(EMAIL, email.strip().lower())


@given(number=digits, seps=separators, other=separators)
def test_a_guest_with_a_phone_only_is_one_identity_across_orders(number, seps, other):
    one = identity(order("gid://shopify/Order/1", phone=formatted(number, seps)))
    two = identity(order("gid://shopify/Order/2", phone=formatted(number, other), first="ADA", address1="9 Elm Rd"))
    assert one == two == Identity(PHONE, "+" + number)


@given(first=names, last=names, street=st.text("abcdefgh 0123456789", min_size=1, max_size=20).filter(str.strip))
def test_a_guest_with_neither_is_matched_by_name_and_address_written_differently(first, last, street):
    def messy(text: str) -> str:
        return re.sub(" ", "  ", text.upper()) + "."

    one = identity(order("gid://shopify/Order/1", first=first, last=last, address1=street))
    two = identity(order("gid://shopify/Order/2", first=messy(first), last=last, address1=messy(street)))
    assert one == two and one.kind == ADDRESS
    moved = identity(order("gid://shopify/Order/3", first=first, last=last, address1=street, zip_code="10115"))
    assert moved != one, "another postal code is another address"


def test_the_address_a_guest_is_known_by_is_the_one_with_a_street_shipping_first():
    shipped = order(address1="1 Oak Avenue")
    streetless = {**shipped, "shipping_address": {**shipped["shipping_address"], "address1": None},
                  "billing_address": {**shipped["billing_address"], "address1": "7 Elm Road", "zip": "10115"}}
    assert identifying_address(shipped) is shipped["shipping_address"]
    assert identifying_address(streetless) is streetless["billing_address"]
    assert identity(streetless).value.endswith("7elmroad|10115|us"), "keyed on the address it is known by"


def test_a_guest_with_no_contact_and_nothing_shipped_is_the_order_alone():
    assert identity(order("gid://shopify/Order/7", address1=None)) == Identity(ORDER, "gid://shopify/Order/7")
