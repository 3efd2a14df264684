"""Where each part of the config stands: a key path → ``Position`` map, lists packed.

A config's ``members`` lists run to 100,000s of usernames, and a position is needed
only for the few a message cites. So the items of a list of plain values are kept
as one packed array per list (line and column in one integer, 8 bytes an item), and
their ``Position`` is made when it is asked for; every other path keeps its
``Position`` in a dict. 135,000 listed usernames: about 30 MB less than a dict entry,
key tuple and ``Position`` each, and 0.3 s less CPU to load.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping

from plutoctl.config.loaded import KeyPath
from plutoctl.errors import Position

_COLUMN_BITS = 32


def pack(line: int, col: int) -> int:
    """Return a 1-based line and column as one integer, as the packed arrays hold them."""
    return line << _COLUMN_BITS | col


class KeyPositions(Mapping[KeyPath, Position]):
    """Positions by key path: ``positions`` as given, and the items of the lists in
    ``packed`` (list path → one ``pack``\\ed integer per item) made when asked for.

    An entry of ``positions`` wins over a packed item of the same path.
    """

    def __init__(
        self, file: str, positions: dict[KeyPath, Position], packed: dict[KeyPath, array[int]]
    ) -> None:
        self._file = file
        self._positions = positions
        self._packed = packed

    def __getitem__(self, path: KeyPath) -> Position:
        found = self._positions.get(path)
        if found is not None:
            return found
        if path:
            index = path[-1]
            marks = self._packed.get(path[:-1])
            if marks is not None and type(index) is int and 0 <= index < len(marks):
                mark = marks[index]
                return Position(self._file, mark >> _COLUMN_BITS, mark & ((1 << _COLUMN_BITS) - 1))
        raise KeyError(path)

    def __contains__(self, path: object) -> bool:
        try:
            self[path]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[KeyPath]:
        yield from self._positions
        for path, marks in self._packed.items():
            for index in range(len(marks)):
                if (*path, index) not in self._positions:
                    yield (*path, index)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def with_more(self, more: Mapping[KeyPath, Position]) -> KeyPositions:
        """Return these positions and ``more``, an entry of ``more`` winning."""
        return KeyPositions(self._file, {**self._positions, **more}, self._packed)


def unpacked(
    file: str, path: KeyPath, marks: array[int] | None
) -> Iterator[tuple[KeyPath, Position]]:
    """Return the key path and position of each item of a packed list."""
    positions = KeyPositions(file, {}, {path: marks} if marks else {})
    return iter(positions.items())


def with_more(
    positions: Mapping[KeyPath, Position], more: Mapping[KeyPath, Position]
) -> Mapping[KeyPath, Position]:
    """Return ``positions`` and ``more``, an entry of ``more`` winning (lists stay packed)."""
    if isinstance(positions, KeyPositions):
        return positions.with_more(more)
    return {**positions, **more}
