"""YAML → plain data plus a map from key path to ``file:line:col``.

PyYAML's constructors lose positions, silently keep the last of duplicate keys and
turn IDs such as ``no``, ``0123`` or ``2024-01-01`` into bools, ints and dates. So
this module composes the node tree itself and builds the data by hand:

* mapping keys are always strings;
* a plain (unquoted) scalar becomes ``None`` for ``null``/``~``/nothing, a bool for
  ``true``/``false`` (YAML 1.2 style, any case), an int for a plain decimal integer
  without leading zeros or a ``+``, and a string otherwise; quoted scalars are always
  strings;
* duplicate keys are problems citing both places (the first one is kept);
* ``<<`` merge keys (one a mapping) and aliases work as in YAML 1.1; explicit keys win.

No input may hang the loader, exhaust memory or end in a traceback: nesting and
what aliases expand to are bounded (``yaml_bounds``), and characters YAML forbids
(a NUL byte) are a problem at their place. Long lists of words are read
from the text rather than composed node by node (``yaml_lists``), for speed.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from plutoctl.config.loaded import KeyPath
from plutoctl.config.positions import KeyPositions, pack, unpacked
from plutoctl.config.yaml_bounds import DEPTH_HINT, MAX_DEPTH, Bounds, LimitError
from plutoctl.config.yaml_lists import FlowList, placed, take_lists
from plutoctl.errors import Position, Problem

_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")  # "+44" stays text: a number would lose its sign
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT_LINE = re.compile(_INT.pattern, re.MULTILINE)  # _INT on each line of a text
_WORDS = _NULLS | _TRUE | _FALSE
MERGE_KEY = "<<"

PlainData = dict[str, "PlainData"] | list["PlainData"] | str | int | bool | None


class _Loader(yaml.SafeLoader):
    """A SafeLoader used only to compose nodes: no implicit tags, so nothing is typed.

    Composing recurses once per level, so nesting is bounded here, before Python's
    own recursion limit could be reached.
    """

    def __init__(self, stream: str, shown_path: str = "") -> None:
        super().__init__(stream)
        self._shown_path = shown_path
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise LimitError(
                    Position(self._shown_path, mark.line + 1, mark.column + 1),
                    f"the YAML is nested more than {MAX_DEPTH} levels deep",
                    DEPTH_HINT,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {}
_PLAIN = "!plutoctl-plain"  # tag given to untagged plain scalars, so !!str can be told apart


def _resolve(loader: yaml.SafeLoader, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
    if kind is yaml.ScalarNode and implicit[0]:
        return _PLAIN
    return yaml.SafeLoader.resolve(loader, kind, value, implicit)


_Loader.resolve = _resolve  # type: ignore[assignment,method-assign]

# libyaml composes the same node tree (with the same marks) about ten times faster,
# which matters for configs listing 100,000s of usernames. Errors are reported by
# re-parsing with the pure-Python loader, whose messages the hints are written for.
_FastLoader: type[yaml.SafeLoader] | None = None
if getattr(yaml, "__with_libyaml__", False):
    # The ignores differ with the installed stubs (CSafeLoader is typed, or unknown).
    class _CLoader(yaml.CSafeLoader):  # type: ignore[name-defined,misc,unused-ignore]
        """_Loader's resolution on libyaml's parser and composer."""

    _CLoader.yaml_implicit_resolvers = {}
    _CLoader.resolve = _resolve  # type: ignore[assignment,method-assign,unused-ignore]
    _FastLoader = _CLoader  # type: ignore[assignment,unused-ignore]


@dataclass
class YamlDocument:
    """The plain data of a YAML file, where each part stood, and what was wrong."""

    data: PlainData
    positions: Mapping[KeyPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_yaml(text: str, shown_path: str, *, allow_list_scan: bool = True) -> YamlDocument:
    """Parse one YAML document into plain data with positions.

    A syntax error yields a document with ``data=None`` and one problem at the error's
    ``file:line:col``; duplicate keys yield problems but the data is still built.
    ``allow_list_scan=False`` composes every list node by node (``yaml_lists``): the
    same document, more slowly; the tests compare the two.
    """
    node, taken = _compose_fast(text, allow_list_scan)
    if node is not None:
        return _build(node, shown_path, taken)
    loader: _Loader | None = None
    try:
        # The reader checks the characters as it is made: a NUL byte fails here.
        loader = _Loader(text, shown_path)
        node = loader.get_single_node()
    except LimitError as exc:
        return YamlDocument(None, problems=[exc.problem])
    except yaml.reader.ReaderError as exc:
        return YamlDocument(None, problems=[_character_problem(exc, text, shown_path)])
    except yaml.MarkedYAMLError as exc:
        return YamlDocument(None, problems=[_syntax_problem(exc, shown_path)])
    except yaml.YAMLError as exc:
        return YamlDocument(None, problems=[Problem(Position(shown_path), f"invalid YAML: {exc}")])
    finally:
        if loader is not None:
            loader.dispose()
    return _build(node, shown_path, {})


def _character_problem(exc: yaml.reader.ReaderError, text: str, shown_path: str) -> Problem:
    """A character YAML does not allow (a NUL byte, a control character), at its place."""
    at = max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    what = "a NUL byte" if exc.character == 0 else f"character U+{exc.character:04X}"
    return Problem(
        Position(shown_path, line, col),
        f"the config file holds {what}, which YAML does not allow",
        hint="a config is plain text: remove the character, and check this is the right file",
    )


def _compose_fast(text: str, allow_list_scan: bool) -> tuple[yaml.Node | None, dict[int, FlowList]]:
    """Compose with libyaml; the node is None when libyaml is missing, the document
    empty, or invalid. Long lists of words are taken from the text first, and given
    by the id of their (empty) node, when every one is confirmed (``yaml_lists``);
    otherwise the text is composed as it is."""
    if _FastLoader is None:
        return None, {}
    shorter, lists = take_lists(text) if allow_list_scan else (text, {})
    if lists:
        node = _compose_with(_FastLoader, shorter)
        taken = placed(node, lists) if node is not None else None
        if node is not None and taken is not None:
            return node, taken
    return _compose_with(_FastLoader, text), {}


def _compose_with(loader_class: type[yaml.SafeLoader], text: str) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError:
        return None  # the pure-Python loader reports it
    finally:
        loader.dispose()


def _build(node: yaml.Node | None, shown_path: str, taken: dict[int, FlowList]) -> YamlDocument:
    builder = _Builder(shown_path, taken)
    if node is None:
        return YamlDocument(None, {(): Position(shown_path, 1, 1)})
    try:
        Bounds(shown_path, {key: len(flow.items) for key, flow in taken.items()}).check(node)
    except LimitError as exc:
        return YamlDocument(None, problems=[exc.problem])
    data = builder.build(node, ())
    positions = KeyPositions(shown_path, builder.positions, builder.packed)
    return YamlDocument(data, positions, builder.problems)


def _syntax_problem(exc: yaml.MarkedYAMLError, shown_path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    position = (
        Position(shown_path, mark.line + 1, mark.column + 1) if mark else Position(shown_path)
    )
    what = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark and mark is not exc.context_mark:
        context_line = exc.context_mark.line + 1
        what = f"{what} ({exc.context} at line {context_line})"
    return Problem(position, f"YAML syntax error: {what}", hint=_syntax_hint(what))


def _syntax_hint(what: str) -> str | None:
    if "found character '\\t'" in what:
        return "YAML does not allow tabs for indentation; use spaces"
    if "another document" in what:
        return "a config file holds one YAML document; remove the '---' line"
    if "mapping values are not allowed" in what:
        return "quote values that contain ': ', or check the indentation of the line above"
    return None


class _Builder:
    """Turn a node tree into plain data, recording positions and duplicate keys."""

    def __init__(self, shown_path: str, taken: dict[int, FlowList]) -> None:
        self.shown_path = shown_path
        self.taken = taken  # the lists composed empty, by id of their node (yaml_lists)
        self.positions: dict[KeyPath, Position] = {}
        self.packed: dict[KeyPath, array[int]] = {}  # see positions.py
        self.problems: list[Problem] = []

    def position(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.shown_path, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, path: KeyPath) -> PlainData:
        # Membership test first: setdefault would build a Position for every node
        # whose place is already known (each one, as items and keys are noted first).
        if path not in self.positions:
            self.positions[path] = self.position(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return _scalar(node)

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[PlainData]:
        flow = self.taken.get(id(node))
        if flow is not None:
            return self._taken_list(flow, path)
        children = node.value
        if (
            path not in self.packed
            and (*path, 0) not in self.positions
            and all(type(child) is yaml.ScalarNode for child in children)
        ):
            # A list of plain values (usernames, up to 100,000s): positions packed.
            marks = [child.start_mark for child in children]
            self.packed[path] = array("q", [pack(m.line + 1, m.column + 1) for m in marks])
            return [_scalar(child) for child in children]
        self._unpack(path)  # built again (a merge key): the first positions stay
        positions, shown = self.positions, self.shown_path
        items: list[PlainData] = []
        for i, child in enumerate(node.value):
            item_path = (*path, i)
            if item_path in positions:
                items.append(self.build(child, item_path))
            elif type(child) is yaml.ScalarNode:
                # Inlined for the common case: lists of usernames run to 100,000s.
                mark = child.start_mark
                positions[item_path] = Position(shown, mark.line + 1, mark.column + 1)
                items.append(_scalar(child))
            else:
                items.append(self.build(child, item_path))
        return items

    def _taken_list(self, flow: FlowList, path: KeyPath) -> list[PlainData]:
        """What ``_sequence`` makes of the untagged plain scalars the list held."""
        values = _plain_words(flow.items)  # a new list each time, as there
        if path not in self.packed and (*path, 0) not in self.positions:
            self.packed[path] = array("q", flow.marks)
            return values
        self._unpack(path)
        for item_path, position in unpacked(self.shown_path, path, flow.marks):
            self.positions.setdefault(item_path, position)
        return values

    def _unpack(self, path: KeyPath) -> None:
        for item_path, position in unpacked(self.shown_path, path, self.packed.pop(path, None)):
            self.positions.setdefault(item_path, position)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, PlainData]:
        result: dict[str, PlainData] = {}
        seen: dict[str, Position] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            key = self._key_text(key_node)
            key_position = self.position(key_node)
            if key == MERGE_KEY and key_node.style in (None, ""):
                if MERGE_KEY in seen:  # two are a duplicate key, as any other (YAML 1.1)
                    self._duplicate(key, path, key_position, seen[MERGE_KEY])
                    continue
                seen[MERGE_KEY] = key_position
                merged.extend(self._merge_sources(value_node, path))
                continue
            if key in seen:
                self._duplicate(key, path, key_position, seen[key])
                continue
            seen[key] = key_position
            self.positions.setdefault((*path, key), key_position)
            result[key] = self.build(value_node, (*path, key))
        for source in merged:
            self._merge(source, path, result)
        return result

    def _merge_sources(self, node: yaml.Node, path: KeyPath) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        # A list taken from the text (its node composed empty) held words, not mappings.
        if (
            isinstance(node, yaml.SequenceNode)
            and id(node) not in self.taken
            and all(isinstance(child, yaml.MappingNode) for child in node.value)
        ):
            return list(node.value)
        self.problems.append(
            Problem(self.position(node), "a '<<' merge key needs a mapping or a list of mappings")
        )
        return []

    def _merge(self, source: yaml.MappingNode, path: KeyPath, result: dict[str, PlainData]) -> None:
        for key, value in self._mapping(source, path).items():
            result.setdefault(key, value)

    def _key_text(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        # A list or mapping used as a key cannot name anything in the config.
        self.problems.append(Problem(self.position(node), "a key must be plain text"))
        return f"<{type(node).__name__}>"

    def _duplicate(self, key: str, path: KeyPath, here: Position, first: Position) -> None:
        where = ".".join(str(p) for p in path) or "the top level"
        problem = Problem(
            here,
            f"duplicate key {key!r} in {where}; first defined at {first}",
            hint="each key may appear once; merge the two entries or rename one",
        )
        if problem not in self.problems:
            self.problems.append(problem)


def _scalar(node: yaml.Node) -> PlainData:
    value = str(node.value)
    if getattr(node, "style", None) or node.tag == "tag:yaml.org,2002:str":
        return value  # quoted, block or !!str: always text
    return _plain(value)


def _plain(value: str) -> PlainData:
    """The value of an unquoted scalar not tagged ``!!str``: None, a bool, an int or text."""
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        try:
            return int(value)
        except ValueError:
            # Beyond Python's digit limit for int(): no config value is that large,
            # and as text the schema says where it was not wanted.
            return value
    return value


def _plain_words(texts: list[str]) -> list[PlainData]:
    """``_plain`` of each of ``texts`` (words, without line breaks), in a new list.

    A list of hundreds of names that all stay text is told so at once: none is a word
    ``_plain`` types, and none is an integer, as its lines joined show.
    """
    if _WORDS.isdisjoint(texts) and not _INT_LINE.search("\n".join(texts)):
        return list(texts)
    return [_plain(text) for text in texts]
