"""Parsing and validation against Shopify's schema, with errors reported the way Shopify reports them.

Shopify's Admin API runs graphql-ruby: its static validation messages and `extensions.code` values
(`undefinedField`, `argumentNotAccepted`, ...) and its `path` (starting with "query", "query Name" or
"mutation Name") differ from graphql-core's, so the common rules are translated here; a message of a rule
without a translation is passed through with the code `validationFailed`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)

_CACHE_SIZE = 512


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    document: DocumentNode | None
    errors: list[dict[str, Any]]


class DocumentCache:
    """Parsed and validated documents by query text: clients send the same few documents again and again,
    and validating against a schema of this size costs milliseconds."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._entries: OrderedDict[str, CheckedDocument] = OrderedDict()
        self._lock = Lock()

    def check(self, query: str) -> CheckedDocument:
        with self._lock:
            hit = self._entries.get(query)
            if hit is not None:
                self._entries.move_to_end(query)
                return hit
        checked = self._check(query)
        with self._lock:
            self._entries[query] = checked
            while len(self._entries) > _CACHE_SIZE:
                self._entries.popitem(last=False)
        return checked

    def _check(self, query: str) -> CheckedDocument:
        try:
            document = parse(query)
        except GraphQLError as error:
            return CheckedDocument(None, [_parse_error(error)])
        errors = validate(self._schema, document)
        if not errors:
            return CheckedDocument(document, [])
        paths = _Paths(document)
        return CheckedDocument(None, [_translate(error, paths) for error in errors])


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or []]


def _parse_error(error: GraphQLError) -> dict[str, Any]:
    found = re.search(r"found (?:Name )?'?([^'.]*)'?\.?$", error.message)
    token = found.group(1) if found else "?"
    where = error.locations[0] if error.locations else None
    position = f" at [{where.line}, {where.column}]" if where else ""
    return {"message": f'Parse error on "{token}"{position}', "locations": _locations(error)}


class _Paths:
    """graphql-ruby style paths of every field and argument node of a document."""

    def __init__(self, document: DocumentNode) -> None:
        self.by_node: dict[int, list[str]] = {}
        self.field_of_argument: dict[int, FieldNode] = {}
        self.operation_names: dict[int, str] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                kind = definition.operation.value
                prefix = f"{kind} {definition.name.value}" if definition.name else kind
                self.operation_names[id(definition)] = prefix if definition.name else f"anonymous {kind}"
                self._walk(definition.selection_set, [prefix])
                for variable in definition.variable_definitions or ():
                    self.by_node[id(variable)] = [prefix]
            elif isinstance(definition, FragmentDefinitionNode):
                self._walk(definition.selection_set, [f"fragment {definition.name.value}"])
        self.document = document

    def _walk(self, selection_set: SelectionSetNode | None, path: list[str]) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                here = [*path, selection.name.value]
                self.by_node[id(selection)] = here
                if selection.selection_set is not None:  # some rules report the selection set itself
                    self.by_node[id(selection.selection_set)] = here
                for argument in selection.arguments or ():
                    self.by_node[id(argument)] = [*here, argument.name.value]
                    self.field_of_argument[id(argument)] = selection
                self._walk(selection.selection_set, here)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                self._walk(
                    selection.selection_set, [*path, f"... on {condition.name.value}" if condition else "..."]
                )

    def of(self, node: Node | None) -> list[str] | None:
        return self.by_node.get(id(node)) if node is not None else None

    def argument_containing(self, node: Node) -> ArgumentNode | None:
        """The argument whose value contains `node` (a literal reported by a value rule)."""
        start = node.loc.start if node.loc else -1
        best = None
        for definition in self.document.definitions:
            for argument in _arguments(definition):
                loc = argument.loc
                if loc and loc.start <= start <= loc.end and (best is None or loc.start >= best.loc.start):
                    best = argument
        return best

    def operation_name(self, error: GraphQLError) -> str:
        for definition in self.document.definitions:
            if (
                isinstance(definition, OperationDefinitionNode)
                and error.nodes
                and definition.loc
                and definition.loc.start <= error.nodes[0].loc.start <= definition.loc.end
            ):
                return self.operation_names[id(definition)]
        return "anonymous query"


def _arguments(node: Any):
    if isinstance(node, ArgumentNode):
        yield node
    for key in getattr(node, "keys", ()):
        value = getattr(node, key, None)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, Node):
                yield from _arguments(child)


def _translate(error: GraphQLError, paths: _Paths) -> dict[str, Any]:
    node = error.nodes[0] if error.nodes else None
    message, extensions = error.message, None
    if match := re.match(r"Cannot query field '(\w+)' on type '(\w+)'", message):
        field, type_name = match.groups()
        message = f"Field '{field}' doesn't exist on type '{type_name}'"
        extensions = {"code": "undefinedField", "typeName": type_name, "fieldName": field}
    elif match := re.match(r"Unknown argument '(\w+)' on field '\w+\.(\w+)'", message):
        argument, field = match.groups()
        message = f"Field '{field}' doesn't accept argument '{argument}'"
        extensions = {
            "code": "argumentNotAccepted",
            "name": field,
            "typeName": "Field",
            "argumentName": argument,
        }
    elif match := re.match(
        r"Field '(\w+)' argument '(\w+)' of type '.+' is required, but it was not provided", message
    ):
        field, argument = match.groups()
        message = f"Field '{field}' is missing required arguments: {argument}"
        extensions = {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": field,
            "arguments": argument,
        }
    elif match := re.match(r"Field '(\w+)' of type '(.+)' must have a selection of subfields", message):
        field, type_name = match.groups()
        message = (
            f"Field '{field}' returns {type_name.strip('!')} but has no selections. "
            f"Did you mean '{field} {{ ... }}'?"
        )
        extensions = {
            "code": "selectionMismatch",
            "nodeName": f"field '{field}'",
            "typeName": type_name.strip("!"),
        }
    elif match := re.match(
        r"Field '(\w+)' must not have a selection since type '(.+)' has no subfields", message
    ):
        field, type_name = match.groups()
        message = (
            f"Selections can't be made on scalars (field '{field}' returns {type_name} but has selections)"
        )
        extensions = {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name}
    elif match := re.match(r"Variable '\$(\w+)' is never used", message):
        name = match.group(1)
        message = f"Variable ${name} is declared by {paths.operation_name(error)} but not used"
        extensions = {"code": "variableNotUsed", "variableName": name}
    elif match := re.match(r"Variable '\$(\w+)' is not defined", message):
        name = match.group(1)
        message = f"Variable ${name} is used by {paths.operation_name(error)} but not declared"
        extensions = {"code": "variableNotDefined", "variableName": name}
    elif match := re.match(r"Unknown type '(\w+)'", message):
        type_name = match.group(1)
        message = f"No such type {type_name}, so it can't be a fragment condition"
        extensions = {"code": "undefinedType", "typeName": type_name}
    elif match := re.match(r"Unknown directive '@(\w+)'", message):
        message = f"Directive @{match.group(1)} is not defined"
        extensions = {"code": "undefinedDirective", "directiveName": match.group(1)}
    elif match := re.match(r"Field '(\w+)' is not defined by type '(\w+)'", message):
        field, type_name = match.groups()
        message = f"InputObject '{type_name}' doesn't accept argument '{field}'"
        extensions = {
            "code": "argumentNotAccepted",
            "name": type_name,
            "typeName": "InputObject",
            "argumentName": field,
        }
    elif match := re.match(
        r"Variable '\$(\w+)' of type '(.+)' used in position expecting type '(.+)'", message
    ):
        name, given, expected = match.groups()
        message = f"Type mismatch on variable ${name} and argument ({given} / {expected})"
        extensions = {"code": "variableMismatch", "variableName": name, "typeName": given}
    elif node is not None and (argument := paths.argument_containing(node)) is not None:
        # A literal of the wrong type (ValuesOfCorrectTypeRule), reported against its argument.
        field = paths.field_of_argument.get(id(argument))
        expected = re.search(
            r"Expected (?:value of )?type '([^']+)'|^(\w+) cannot represent|in '(\w+)' enum", message
        )
        type_name = next((g for g in expected.groups() if g), "?") if expected else "?"
        value = (
            argument.value.loc.source.body[argument.value.loc.start : argument.value.loc.end]
            if argument.value.loc
            else "?"
        )
        owner = field.name.value if field else "?"
        message = (
            f"Argument '{argument.name.value}' on Field '{owner}' has an invalid value ({value}). "
            f"Expected type '{type_name}'."
        )
        extensions = {
            "code": "argumentLiteralsIncompatible",
            "typeName": "Field",
            "argumentName": argument.name.value,
        }
        node = argument
    result: dict[str, Any] = {"message": message, "locations": _locations(error)}
    path = paths.of(node)
    if path:
        result["path"] = path
    result["extensions"] = extensions or {"code": "validationFailed"}
    return result


def translate_variable_error(error: GraphQLError, variables: dict[str, Any]) -> dict[str, Any]:
    """graphql-core's variable coercion errors, in Shopify's INVALID_VARIABLE shape."""
    text = error.message
    name_match = re.match(r"Variable '\$(\w+)'", text)
    name = name_match.group(1) if name_match else "?"
    node = error.nodes[0] if error.nodes else None
    type_name = (
        node.type.loc.source.body[node.type.loc.start : node.type.loc.end]
        if node is not None and getattr(node, "type", None) is not None and node.type.loc
        else "?"
    )
    at = re.search(r" at '([^']*)'", text)
    path: list[Any] = (
        [int(p) if p.isdigit() else p for p in re.findall(r"\w+", at.group(1))][1:] if at else []
    )
    if missing := re.search(r"Field '(\w+)' of required type '[^']+' was not provided", text):
        path.append(missing.group(1))
        explanation = "Expected value to not be null"
    elif unknown := re.search(r"Field '(\w+)' is not defined by type '(\w+)'", text):
        path.append(unknown.group(1))
        explanation = f"Field is not defined on {unknown.group(2)}"
    elif "was not provided" in text or "not to be null" in text:
        explanation = "Expected value to not be null"
    elif scalar := re.search(r"Expected type '[^']+'\. (.+?)\.?$", text, re.S):
        explanation = scalar.group(1)
    else:
        explanation = re.sub(r"^.*?; ", "", text).rstrip(".")
    shown = ".".join(str(p) for p in path)
    message = f"Variable ${name} of type {type_name} was provided invalid value" + (
        f" for {shown} ({explanation})" if shown else ""
    )
    return {
        "message": message,
        "locations": _locations(error),
        "extensions": {
            "code": "INVALID_VARIABLE",
            "value": variables.get(name),
            "problems": [{"path": path, "explanation": explanation}],
        },
    }
