"""The loader's bounds: how deep a YAML document may nest, and what aliases may expand to.

No input may hang the loader or exhaust memory. Nesting is bounded (``MAX_DEPTH``),
so is what aliases and merge keys expand to (``MAX_EXPANDED``, counted as they are
resolved), and an alias inside the node it names is refused; each refusal is a
problem at its place. ``yaml_positions`` checks a composed node graph with
``Bounds`` before it builds anything from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from plutoctl.errors import Position, Problem

MAX_DEPTH = 100
"""Deepest nesting of mappings and lists accepted; a real config needs about eight."""
MAX_EXPANDED = 250_000
"""Most values that aliases and merge keys may repeat; a real config repeats a few."""

DEPTH_HINT = (
    "a config nests a few levels; check the brackets and indentation, and that this is "
    "the right file"
)


class LimitError(Exception):
    """The document exceeds a bound on nesting or alias expansion, at ``position``."""

    def __init__(self, position: Position, message: str, hint: str) -> None:
        super().__init__(message)
        self.problem = Problem(position, message, hint=hint)


class Bounds:
    """Check, before anything is built, that a node graph expands to a bounded tree.

    Aliases make the composed tree a graph whose nodes are shared; building it expands
    every use. One pass over the distinct nodes, as aliases resolve, counts what they
    would repeat and finds self-reference and excess depth, each at its place.

    ``taken`` gives, by ``id`` of the node, how many items a list emptied before
    composing held (see ``yaml_lists``): each counts as the item node it would have been.
    """

    def __init__(self, shown_path: str, taken: Mapping[int, int] | None = None) -> None:
        self.shown_path = shown_path
        self.taken = taken or {}
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.repeated = 0

    def position(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.shown_path, mark.line + 1, mark.column + 1)

    def check(self, node: yaml.Node) -> int:
        """Return how many nodes ``node`` expands to; raise LimitError past a bound."""
        if type(node) is yaml.ScalarNode:
            return 1
        key = id(node)
        if key in self.open:
            raise LimitError(
                self.position(node),
                "this anchored part holds an alias (or a '<<' merge) of itself, so it never ends",
                "an anchored part cannot hold an alias to itself; copy what it needs instead",
            )
        if key in self.sizes:  # an alias (or merge) of a part already seen
            self.repeated += self.sizes[key]
            if self.repeated > MAX_EXPANDED:
                raise LimitError(
                    self.position(node),
                    f"aliases and merge keys expand to more than {MAX_EXPANDED:,} values "
                    "(the part anchored here is repeated again and again)",
                    "each alias (*name) repeats the whole part its anchor (&name) marks; "
                    "a config needs few of them, so check this is the right file",
                )
            return self.sizes[key]
        if len(self.open) >= MAX_DEPTH:
            message = f"the YAML is nested more than {MAX_DEPTH} levels deep"
            raise LimitError(self.position(node), message, DEPTH_HINT)
        self.open.add(key)
        children = _children(node)
        # A scalar counts 1 and holds nothing to check: only the others are visited.
        nested = [child for child in children if type(child) is not yaml.ScalarNode]
        size = 1 + len(children) - len(nested) + sum(map(self.check, nested))
        size += self.taken.get(key, 0)
        self.open.discard(key)
        self.sizes[key] = size
        return size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
