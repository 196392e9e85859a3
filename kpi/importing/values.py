"""One import's per-(account, day) metric values, stored compactly.

A 20 MB upload is ~300,000 account-days; as a dict of dicts of floats that is
~750 bytes each (~220 MB). Here the keys of one shape (the same metric names)
keep their values side by side in one `array('d')`: ~200 bytes per
account-day with ten metrics, so an import's memory stays near the size of
the file.

`ValueStore` is a `MutableMapping[key, MutableMapping[metric, float]]`: the
layouts read and change a group as they would a dict (`store[key]["reach"]
= 1.0`, `group.pop(...)`, `store.setdefault(key, {})`) through a small view
of its slot. `add_new` and `entries()` are the fast paths for the row loop,
the write and the totals.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

K = TypeVar("K")
Shape = tuple[str, ...]


class ValueStore(MutableMapping[K, MutableMapping[str, float]], Generic[K]):
    __slots__ = ("_flats", "_index", "_offs", "_positions", "_shape_ids", "_shapes", "_sids")

    def __init__(self, items: Mapping[K, Mapping[str, float]] | None = None) -> None:
        self._index: dict[K, int] = {}
        self._sids = array("I")  # per slot: its shape's number
        self._offs = array("Q")  # per slot: where its values start in its shape's array
        self._shapes: list[Shape] = []
        self._positions: list[dict[str, int]] = []
        self._flats: list[array[float]] = []  # per shape: the values of its slots, in a row
        self._shape_ids: dict[Shape, int] = {}
        if items:
            for key, group in items.items():
                self.put(key, group)

    def _sid(self, names: Shape) -> int:
        sid = self._shape_ids.get(names)
        if sid is None:
            sid = self._shape_ids[names] = len(self._shapes)
            self._shapes.append(names)
            self._positions.append({n: i for i, n in enumerate(names)})
            self._flats.append(array("d"))
        return sid

    # ------------------------------------------------------------ slots

    def slot(self, key: K) -> int | None:
        return self._index.get(key)

    def add_new(self, key: K, values: Mapping[str, float]) -> int:
        """A key not seen yet, with its values (the row loop's common case)."""
        slot = self._index[key] = len(self._sids)
        names = tuple(values)
        sid = self._shape_ids.get(names)
        if sid is None:
            sid = self._sid(names)
        flat = self._flats[sid]
        self._sids.append(sid)
        self._offs.append(len(flat))
        flat.fromlist(list(values.values()))  # quicker than extend() from a dict view
        return slot

    def shape(self, slot: int) -> Shape:
        """The metric names the slot holds."""
        return self._shapes[self._sids[slot]]

    def values_at(self, slot: int) -> array[float]:
        sid = self._sids[slot]
        off = self._offs[slot]
        return self._flats[sid][off : off + len(self._shapes[sid])]

    def _move(self, slot: int, names: Shape, vals: Sequence[float]) -> None:
        """Give the slot another shape (its old values stay behind, unused)."""
        sid = self._sid(names)
        flat = self._flats[sid]
        self._sids[slot] = sid
        self._offs[slot] = len(flat)
        flat.extend(vals)

    def get_at(self, slot: int, name: str) -> float | None:
        sid = self._sids[slot]
        i = self._positions[sid].get(name)
        return None if i is None else self._flats[sid][self._offs[slot] + i]

    def set_at(self, slot: int, name: str, value: float) -> None:
        sid = self._sids[slot]
        i = self._positions[sid].get(name)
        if i is not None:
            self._flats[sid][self._offs[slot] + i] = value
            return
        vals = self.values_at(slot)
        vals.append(value)
        self._move(slot, (*self._shapes[sid], name), vals)

    def del_at(self, slot: int, name: str) -> bool:
        sid = self._sids[slot]
        i = self._positions[sid].get(name)
        if i is None:
            return False
        names = self._shapes[sid]
        vals = self.values_at(slot)
        del vals[i]
        self._move(slot, names[:i] + names[i + 1 :], vals)
        return True

    def put(self, key: K, group: Mapping[str, float]) -> None:
        """Set `key` to exactly `group` (a new key, or one replaced)."""
        floats = {n: float(v) for n, v in group.items()}
        slot = self._index.get(key)
        if slot is None:
            self.add_new(key, floats)
        else:
            self._move(slot, tuple(floats), list(floats.values()))

    # ------------------------------------------------------------ fast paths

    def entries(self) -> Iterator[tuple[K, Shape, array[float]]]:
        """(key, metric names, their values) of every key, in insertion order."""
        shapes, sids, offs, flats = self._shapes, self._sids, self._offs, self._flats
        for key, slot in self._index.items():
            sid = sids[slot]
            names = shapes[sid]
            off = offs[slot]
            yield key, names, flats[sid][off : off + len(names)]

    def slots(self, size: int) -> Iterator[list[tuple[K, int]]]:
        """(key, slot) of every key in insertion order, `size` at a time (the write's
        chunks; the keys must not change meanwhile)."""
        items = iter(self._index.items())
        while chunk := list(islice(items, size)):
            yield chunk

    def by_shape(self, slots: Iterable[tuple[K, int]]) -> dict[Shape, list[tuple[K, int]]]:
        """(key, slot) pairs grouped by the metric names they hold, in the given order."""
        sids = self._sids
        groups: dict[int, list[tuple[K, int]]] = {}
        for item in slots:
            sid = sids[item[1]]
            group = groups.get(sid)
            if group is None:
                groups[sid] = [item]
            else:
                group.append(item)
        return {self._shapes[sid]: group for sid, group in groups.items()}

    def metrics(self) -> set[str]:
        """Every metric some key holds."""
        used = {self._sids[slot] for slot in self._index.values()}
        return {name for sid in used for name in self._shapes[sid]}

    def renamed(self, rename: Mapping[K, K]) -> ValueStore[K]:
        """The same values with some keys renamed; a renamed key that meets an
        existing one is merged into it, the later key's values winning (as
        `dict.update` in file order)."""
        if not rename:
            return self
        out: ValueStore[K] = ValueStore()
        for key, names, vals in self.entries():
            new = rename.get(key, key)
            slot = out.slot(new)
            if slot is None:
                out.add_new(new, dict(zip(names, vals, strict=True)))
                continue
            for name, value in zip(names, vals, strict=True):
                out.set_at(slot, name, value)
        return out

    # ------------------------------------------------------------ mapping

    def __getitem__(self, key: K) -> MutableMapping[str, float]:
        return _Group(self, self._index[key])

    def __setitem__(self, key: K, group: MutableMapping[str, float]) -> None:
        self.put(key, dict(group))

    def __delitem__(self, key: K) -> None:
        self._index.pop(key)

    def __iter__(self) -> Iterator[K]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def setdefault(
        self, key: K, default: Mapping[str, float] | None = None
    ) -> MutableMapping[str, float]:
        """The key's group, made from `default` if the key is new: the live view either way
        (a dict's setdefault would hand back `default`, which is not stored here)."""
        if key not in self._index:
            self.put(key, default or {})
        return _Group(self, self._index[key])

    def __repr__(self) -> str:
        return f"ValueStore({ {k: dict(v) for k, v in self.items()}!r})"


class _Group(MutableMapping[str, float]):
    """One key's metrics: a live view of its slot."""

    __slots__ = ("_slot", "_store")

    def __init__(self, store: ValueStore[Any], slot: int) -> None:
        self._store = store
        self._slot = slot

    def __getitem__(self, name: str) -> float:
        v = self._store.get_at(self._slot, name)
        if v is None:
            raise KeyError(name)
        return v

    def __setitem__(self, name: str, value: float) -> None:
        self._store.set_at(self._slot, name, float(value))

    def __delitem__(self, name: str) -> None:
        if not self._store.del_at(self._slot, name):
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.shape(self._slot))

    def __len__(self) -> int:
        return len(self._store.shape(self._slot))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._store.get_at(self._slot, name) is not None

    def __repr__(self) -> str:
        return repr(dict(self))


def entries(
    values: Mapping[K, Mapping[str, float]],
) -> Iterator[tuple[K, Shape, Sequence[float]]]:
    """(key, metric names, values) of a `ValueStore` (fast) or of any dict of dicts."""
    if isinstance(values, ValueStore):
        yield from values.entries()
        return
    for key, group in values.items():
        yield key, tuple(group), tuple(group.values())


def entry(values: Mapping[K, Mapping[str, float]], key: K) -> tuple[Shape, Sequence[float]]:
    """The metric names and values of one key."""
    if isinstance(values, ValueStore):
        slot = values._index[key]
        return values.shape(slot), values.values_at(slot)
    group = values[key]
    return tuple(group), tuple(group.values())
