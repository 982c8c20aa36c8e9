"""In-memory indexes: sorted keys for seek pagination and equality lookups."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

R = TypeVar("R")
Key = tuple[Any, int]


class SortedIndex:
    """(sort value, id) pairs kept in order, so a page starts with one bisect instead of a scan."""

    def __init__(self, key_fn: Callable[[Any], Key]) -> None:
        self.key_fn = key_fn
        self.keys: list[Key] = []
        self._by_id: dict[int, Key] = {}

    def add(self, record: Any) -> None:
        key = self.key_fn(record)
        old = self._by_id.get(key[1])
        if old == key:
            return
        if old is not None:
            del self.keys[bisect.bisect_left(self.keys, old)]
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)  # the usual case: a new or just-updated record sorts last
        else:
            bisect.insort(self.keys, key)
        self._by_id[key[1]] = key

    def add_many(self, records: Iterable[Any]) -> None:
        for record in records:
            key = self.key_fn(record)
            old = self._by_id.get(key[1])
            if old is not None:
                self.keys.remove(old)
            self.keys.append(key)
            self._by_id[key[1]] = key
        self.keys.sort()

    def discard(self, record_id: int) -> None:
        old = self._by_id.pop(record_id, None)
        if old is not None:
            del self.keys[bisect.bisect_left(self.keys, old)]

    def clear(self) -> None:
        self.keys.clear()
        self._by_id.clear()


class EqualityIndex:
    """value -> ids, for lookups such as `sku:ABC`."""

    def __init__(self, value_fn: Callable[[Any], Any]) -> None:
        self.value_fn = value_fn
        self._ids: dict[Any, set[int]] = {}
        self._by_id: dict[int, Any] = {}

    def add(self, record_id: int, record: Any) -> None:
        value = self.value_fn(record)
        old = self._by_id.get(record_id, _MISSING)
        if old == value:
            return
        if old is not _MISSING:
            self._remove(record_id, old)
        self._by_id[record_id] = value
        if value is not None:
            self._ids.setdefault(value, set()).add(record_id)

    def _remove(self, record_id: int, value: Any) -> None:
        ids = self._ids.get(value)
        if ids is not None:
            ids.discard(record_id)
            if not ids:
                del self._ids[value]

    def discard(self, record_id: int) -> None:
        old = self._by_id.pop(record_id, _MISSING)
        if old is not _MISSING:
            self._remove(record_id, old)

    def get(self, value: Any) -> set[int]:
        return self._ids.get(value, set())

    def clear(self) -> None:
        self._ids.clear()
        self._by_id.clear()


_MISSING = object()


class Collection(Generic[R]):
    """Records of one kind by id, with their sorted and equality indexes kept current."""

    def __init__(
        self,
        sorted_keys: dict[str, Callable[[Any], Key]] | None = None,
        equality: dict[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.by_id: dict[int, R] = {}
        self.sorted = {name: SortedIndex(fn) for name, fn in (sorted_keys or {}).items()}
        self.equal = {name: EqualityIndex(fn) for name, fn in (equality or {}).items()}

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, record_id: int | None) -> R | None:
        return None if record_id is None else self.by_id.get(record_id)

    def put(self, record: R) -> None:
        record_id = record.id  # type: ignore[attr-defined]
        self.by_id[record_id] = record
        for index in self.sorted.values():
            index.add(record)
        for eq in self.equal.values():
            eq.add(record_id, record)

    def put_many(self, records: list[R]) -> None:
        for record in records:
            self.by_id[record.id] = record  # type: ignore[attr-defined]
            for eq in self.equal.values():
                eq.add(record.id, record)  # type: ignore[attr-defined]
        for index in self.sorted.values():
            index.add_many(records)

    def delete(self, record_id: int) -> None:
        self.by_id.pop(record_id, None)
        for index in self.sorted.values():
            index.discard(record_id)
        for eq in self.equal.values():
            eq.discard(record_id)

    def clear(self) -> None:
        self.by_id.clear()
        for index in self.sorted.values():
            index.clear()
        for eq in self.equal.values():
            eq.clear()
