"""Shopify's search syntax for the `query:` argument of connections.

Supported: `field:value`, comparators `:<`, `:<=`, `:>`, `:>=`, quoted values, implicit AND, `AND`,
`OR`, `NOT`/`-` negation, parentheses, a trailing `*` for prefix match on text fields, and bare words
(matched against the resource's default text fields). Unknown fields are ignored with a warning, as
Shopify does ("Invalid search field for this query.").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.shopify.graphql_schema import parse_datetime
from sandbox.shopify.ids import parse_gid

_TOKEN = re.compile(r"""\s*(?:(?P<paren>[()])|(?P<term>(?:[^\s()"']|"[^"]*"|'[^']*')+))""")
_TERM = re.compile(r"^(?P<neg>-)?(?:(?P<field>[A-Za-z_][\w.]*):(?P<op><=|>=|<|>|=)?)?(?P<value>.*)$", re.S)


@dataclass(frozen=True, slots=True)
class Term:
    field: str | None
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # "and" | "or" | "not" | "term"
    children: tuple[Node, ...] = ()
    term: Term | None = None


@dataclass(slots=True)
class SearchField:
    """How a resource answers one search field: a getter and the kind of comparison."""

    getter: Callable[[Any], Any]
    kind: (
        str  # "text" | "exact" | "any" (exact, against any of a list) | "datetime" | "number" | "id" | "enum"
    )
    type_name: str = ""  # for ids: the gid type accepted besides plain numbers
    needs_store: bool = False  # getter takes (store, record): the value lives in related records


@dataclass(slots=True)
class Compiled:
    predicate: Callable[[Any], bool]
    warnings: list[dict[str, str]] = field(default_factory=list)
    equalities: dict[str, str] = field(default_factory=dict)  # top-level field:value terms
    ranges: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)  # top-level comparisons
    # top-level `field:a OR field:b ..` groups, one field each: any of their values
    alternatives: dict[str, list[list[Any]]] = field(default_factory=dict)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse(query: str) -> Node | None:
    tokens = [m.group("paren") or m.group("term") for m in _TOKEN.finditer(query) if m.group(0).strip()]
    parser = _Parser(tokens)
    node = parser.or_expr()
    return node


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def or_expr(self) -> Node | None:
        parts = [p for p in [self.and_expr()] if p]
        while self._peek() == "OR":
            self.pos += 1
            part = self.and_expr()
            if part:
                parts.append(part)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while (token := self._peek()) is not None and token not in ("OR", ")"):
            if token == "AND":
                self.pos += 1
                continue
            unary = self.unary()
            if unary:
                parts.append(unary)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def unary(self) -> Node | None:
        token = self._peek()
        self.pos += 1
        if token == "NOT":
            inner = self.unary()
            return Node("not", (inner,)) if inner else None
        if token == "(":
            inner = self.or_expr()
            if self._peek() == ")":
                self.pos += 1
            return inner
        match = _TERM.match(token or "")
        term = Term(match["field"], match["op"] or "=", _unquote(match["value"]))
        node = Node("term", term=term)
        return Node("not", (node,)) if match["neg"] else node


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return False
    if op == "=":
        return actual == expected
    if op == "<":
        return actual < expected
    if op == "<=":
        return actual <= expected
    if op == ">":
        return actual > expected
    return actual >= expected


def _coerce(spec: SearchField, raw: str) -> Any:
    if spec.kind == "datetime":
        return parse_datetime(raw if "T" in raw else f"{raw}T00:00:00Z")
    if spec.kind in ("number", "id"):
        return parse_gid(raw, spec.type_name) if raw.startswith("gid://") else int(raw)
    return raw.lower()


def compile_query(
    query: str | None, fields: dict[str, SearchField], default_text: Callable[[Any], str]
) -> Compiled:
    """A predicate for `query`, with Shopify-style warnings for what it could not use."""
    warnings: list[dict[str, str]] = []
    root = parse(query or "")
    if root is None:
        return Compiled(lambda _record: True, warnings)

    def term_predicate(term: Term) -> Callable[[Any], bool] | None:
        if term.field is None:
            needle = term.value.lower().rstrip("*")
            return lambda record: needle in default_text(record).lower()
        spec = fields.get(term.field)
        if spec is None:
            warnings.append({"field": term.field, "message": "Invalid search field for this query."})
            return None
        try:
            expected = _coerce(spec, term.value)
        except ValueError:
            warnings.append(
                {"field": term.field, "message": f"Invalid value for {term.field}: '{term.value}'."}
            )
            return None
        getter, op = spec.getter, term.op
        if spec.kind == "any":
            prefix = expected[:-1] if expected.endswith("*") else None
            return lambda record: any(
                (str(v).lower().startswith(prefix) if prefix is not None else str(v).lower() == expected)
                for v in getter(record)
                if v
            )
        if spec.kind == "text" and expected.endswith("*"):
            prefix = expected[:-1]
            return lambda record: str(getter(record) or "").lower().startswith(prefix)
        if spec.kind == "text" and op == "=":
            return lambda record: expected in str(getter(record) or "").lower()
        if spec.kind in ("text", "exact", "enum"):
            return lambda record: _compare(str(getter(record) or "").lower(), op, expected)
        return lambda record: _compare(getter(record), op, expected)

    def build(node: Node) -> Callable[[Any], bool] | None:
        if node.kind == "term":
            return term_predicate(node.term)
        children = [c for c in (build(child) for child in node.children) if c is not None]
        if not children:
            return None
        if node.kind == "not":
            inner = children[0]
            return lambda record: not inner(record)
        if node.kind == "and":
            return lambda record: all(c(record) for c in children)
        return lambda record: any(c(record) for c in children)

    predicate = build(root) or (lambda _record: True)
    compiled = Compiled(predicate, warnings)
    top_terms = root.children if root.kind == "and" else (root,)
    for node in top_terms:
        group = _alternatives(node, fields)
        if group is not None:
            compiled.alternatives.setdefault(group[0], []).append(group[1])
        term = node.term if node.kind == "term" else None
        if term is None or term.field not in fields:
            continue
        spec = fields[term.field]
        try:
            value = _coerce(spec, term.value)
        except ValueError:
            continue
        if term.op == "=" and not str(value).endswith("*"):
            compiled.equalities[term.field] = value
        if term.op != "=" or spec.kind in ("datetime", "number", "id"):
            compiled.ranges.setdefault(term.field, []).append((term.op, value))
    return compiled


WHOLE_VALUE = ("exact", "any", "id", "number", "enum")  # kinds whose `field:value` is the whole value


def _alternatives(node: Node, fields: dict[str, SearchField]) -> tuple[str, list[Any]] | None:
    """(field, values) for an OR of whole-value `field:value` terms on one field (`sku:A OR sku:B`), the
    form a client asks for many records by key in; None for any other node."""
    if node.kind != "or" or not node.children:
        return None
    terms = [child.term for child in node.children if child.kind == "term"]
    names = {term.field for term in terms if term is not None}
    if len(terms) != len(node.children) or len(names) != 1:
        return None
    name = names.pop()
    spec = fields.get(name) if name is not None else None
    if spec is None or spec.kind not in WHOLE_VALUE or any(term.op != "=" for term in terms):
        return None
    try:
        values = [_coerce(spec, term.value) for term in terms]
    except ValueError:
        return None
    if any(str(value).endswith("*") for value in values):
        return None
    return name, values


def in_ranges(value: Any, bounds: list[tuple[str, Any]]) -> bool:
    return all(_compare(value, op, expected) for op, expected in bounds)
