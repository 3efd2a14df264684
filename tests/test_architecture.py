"""The layout docs/architecture.md describes holds: import rules, printing, module size.

Every rule is written against package prefixes (``plutoctl.lms``, ``plutoctl.run``…), so
it holds whatever modules a package grows. Imports are read with ``ast`` from every
module, those inside functions included; one check also follows them transitively,
parent packages' ``__init__`` included, to catch what an import pulls in behind it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plutoctl"
MAX_LINES = 400
LONG_REASON = "over 400 lines because"

REGISTRY = "plutoctl.lms.functions"
"""The web-service function registry: pure data about Moodle's API, no transport."""


@dataclass(frozen=True)
class Import:
    """One name a module imports: ``plutoctl.lms.client.SiteClient``, ``requests``."""

    module: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    """Return the dotted name of a module file under ``plutoctl/``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Return every module of the package by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"))


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """Return the module an ``import from`` names, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    base = name.split(".")
    if modules()[name].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    """Return every name a module imports, at any depth (functions included)."""
    found = []
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Import):
            found.extend(Import(name, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(name, node)
            found.extend(Import(name, f"{source}.{a.name}", node.lineno) for a in node.names)
    return tuple(found)


def within(target: str, prefix: str) -> bool:
    """Whether a dotted name is ``prefix`` or inside it."""
    return target == prefix or target.startswith(prefix + ".")


def part(target: str) -> str:
    """Return the part of plutoctl a dotted name belongs to (the registry is its own)."""
    if within(target, REGISTRY):
        return REGISTRY
    pieces = target.split(".")
    return ".".join(pieces[:2]) if pieces[0] == "plutoctl" and len(pieces) > 1 else pieces[0]


def violations(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """Return the imports from modules under ``importers`` of names under ``forbidden``."""
    found = []
    for name in modules():
        if not any(within(name, prefix) for prefix in importers):
            continue
        for imported in imports_of(name):
            if within(imported.target, REGISTRY):
                continue  # the registry is pure data; which parts may use it is ruled below
            if any(within(imported.target, prefix) for prefix in forbidden):
                found.append(str(imported))
    return found


# explain and export (the modules) only shape values: what explain prints, a site as YAML.
PURE_CORE = (
    "plutoctl.config",
    "plutoctl.rules",
    "plutoctl.plan",
    "plutoctl.explain",
    "plutoctl.export",
)
RUN = ("plutoctl.run",)
OUTER = (*RUN, "plutoctl.apply", "plutoctl.cli")

RULES = {
    "plan, rules and config never import the LMS client, the sandbox, the runner, apply, "
    "cli or the HTTP libraries": (
        PURE_CORE,
        ("plutoctl.lms", "plutoctl.sandbox", *OUTER, "requests", "urllib3"),
    ),
    "the sandbox never imports the LMS client, plan, the runner, apply or cli": (
        ("plutoctl.sandbox",),
        ("plutoctl.lms", "plutoctl.plan", *OUTER),
    ),
    "the LMS client never imports the sandbox, the runner, apply or cli": (
        ("plutoctl.lms",),
        ("plutoctl.sandbox", *OUTER),
    ),
    "apply never imports the runner or cli": (("plutoctl.apply",), (*RUN, "plutoctl.cli")),
    "the runner never imports cli": (RUN, ("plutoctl.cli",)),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_import_rule(rule: str) -> None:
    importers, forbidden = RULES[rule]
    assert violations(importers, forbidden) == []


def test_config_and_rules_do_not_use_the_registry() -> None:
    # config and rules know nothing of Moodle's functions; plan names them, the sandbox
    # serves them, lms calls them.
    found = [
        str(imported)
        for name in modules()
        if any(within(name, prefix) for prefix in ("plutoctl.config", "plutoctl.rules"))
        for imported in imports_of(name)
        if within(imported.target, REGISTRY)
    ]
    assert found == []


def plutoctl_imports_outside(importers: str, allowed: tuple[str, ...]) -> list[str]:
    """Return imports of plutoctl names from modules under ``importers`` not in ``allowed``."""
    return [
        str(imported)
        for name in modules()
        if within(name, importers)
        for imported in imports_of(name)
        if within(imported.target, "plutoctl")
        and not any(within(imported.target, prefix) for prefix in allowed)
    ]


@pytest.mark.parametrize("foundation", ["plutoctl.errors", "plutoctl.model"])
def test_errors_and_model_import_only_each_other(foundation: str) -> None:
    assert plutoctl_imports_outside(foundation, ("plutoctl.errors", "plutoctl.model")) == []


def test_the_heap_module_imports_nothing_of_plutoctl() -> None:
    # Every part may pause the collector, so the pause may need no part.
    assert plutoctl_imports_outside("plutoctl.heap", ()) == []


def test_php_text_imports_nothing_of_plutoctl() -> None:
    # config, rules and the sandbox all clean text as PHP does, from this one module.
    assert plutoctl_imports_outside("plutoctl.phptext", ()) == []


def test_the_registry_is_pure_data() -> None:
    allowed = (REGISTRY, "plutoctl.errors", "plutoctl.model")
    assert plutoctl_imports_outside(REGISTRY, allowed) == []
    transport = ("requests", "urllib3", "http", "socket", "concurrent", "threading")
    found = [
        str(imported)
        for name in modules()
        if within(name, REGISTRY)
        for imported in imports_of(name)
        if any(within(imported.target, prefix) for prefix in transport)
    ]
    assert found == []


def test_nothing_imports_cli() -> None:
    found = [
        str(imported)
        for name in modules()
        if not within(name, "plutoctl.cli") and name != "plutoctl.__main__"
        for imported in imports_of(name)
        if within(imported.target, "plutoctl.cli")
    ]
    assert found == []


def part_graph() -> dict[str, set[str]]:
    """Return which parts import which (modules of one part importing each other aside)."""
    graph: dict[str, set[str]] = {}
    for name in modules():
        source = part(name)
        graph.setdefault(source, set())
        for imported in imports_of(name):
            target = part(imported.target)
            if target.startswith("plutoctl.") and target != source:
                graph[source].add(target)
    return graph


def test_parts_import_each_other_without_cycles() -> None:
    graph = part_graph()
    cycles: list[str] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append(" -> ".join([*path[path.index(node) :], node]))
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []


def loaded_with(name: str) -> set[str]:
    """Return the plutoctl modules importing ``name`` loads: its parent packages'
    ``__init__`` and everything they and it import, transitively."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        pieces = current.split(".")
        for size in range(1, len(pieces) + 1):
            module = ".".join(pieces[:size])
            if module in modules() and module not in seen:
                seen.add(module)
                todo.extend(_module_of(i.target) for i in imports_of(module))
    return seen


def _module_of(target: str) -> str:
    """Return the longest prefix of a dotted name that is a plutoctl module, or ''."""
    pieces = target.split(".")
    for size in range(len(pieces), 0, -1):
        if ".".join(pieces[:size]) in modules():
            return ".".join(pieces[:size])
    return ""


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        pytest.param(
            PURE_CORE, ("plutoctl.lms", "plutoctl.sandbox", *OUTER), id="config-rules-plan"
        ),
        pytest.param(
            ("plutoctl.sandbox",), ("plutoctl.lms", "plutoctl.plan", *OUTER), id="sandbox"
        ),
    ],
)
def test_what_a_part_loads_obeys_its_rules(
    importers: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    # A package's __init__ is loaded with any of its modules: importing the registry
    # must not bring the client in through plutoctl/lms/__init__.py.
    found = set()
    for name in modules():
        if not any(within(name, prefix) for prefix in importers):
            continue
        for module in loaded_with(name):
            if module in (REGISTRY, "plutoctl.lms") or within(module, REGISTRY):
                continue
            if any(within(module, prefix) for prefix in forbidden):
                found.add(f"{name} loads {module}")
            found.update(
                f"{name} loads {i.target} (from {module})"
                for i in imports_of(module)
                if within(i.target, "requests") or within(i.target, "urllib3")
            )
    assert sorted(found) == []


# Printing: only cli writes to the terminal. Everything else returns values, raises
# PlutoError, or logs through ``logging``.
PRINTING_CALLS = {"print", "click.echo", "click.secho", "sys.stdout.write", "sys.stderr.write"}
STREAMS = {"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"}


def dotted(node: ast.expr) -> str:
    """Return ``a.b.c`` for a name or attribute chain, else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def printing(name: str) -> Iterator[str]:
    """Yield where a module prints, writes to a standard stream, or imports click."""
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Call) and dotted(node.func) in PRINTING_CALLS:
            yield f"{name}:{node.lineno} calls {dotted(node.func)}"
        elif isinstance(node, ast.Attribute) and dotted(node) in STREAMS:
            yield f"{name}:{node.lineno} uses {dotted(node)}"
    for imported in imports_of(name):
        if within(imported.target, "click"):
            yield f"{imported} (click belongs to cli)"


def test_only_cli_prints() -> None:
    found = [
        where
        for name in modules()
        if not within(name, "plutoctl.cli") and name != "plutoctl.__main__"
        for where in printing(name)
    ]
    assert found == []


def says_why_it_is_long(name: str) -> bool:
    """Whether a module's docstring gives a reason for its length."""
    docstring = ast.get_docstring(tree(name)) or ""
    return LONG_REASON in " ".join(docstring.lower().split())


def test_every_module_is_short_or_says_why() -> None:
    found = []
    for name, path in modules().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and not says_why_it_is_long(name):
            found.append(f"{path.relative_to(ROOT)}: {lines} lines and no reason given")
    assert found == [], 'split by reason to change, or say why: "Over 400 lines because …"'


def is_shim(name: str) -> bool:
    """Whether a module only re-exports names from another part of plutoctl.

    A package's ``__init__`` may gather its own submodules' names (its public face);
    any other module made only of imports, ``__all__`` and aliases is a leftover.
    """
    body = tree(name).body
    statements = [
        node
        for node in body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    if not statements:
        return False
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and (
            (targets := node.targets if isinstance(node, ast.Assign) else [node.target])
            and all(isinstance(t, ast.Name) for t in targets)
            and (
                any(t.id == "__all__" for t in targets if isinstance(t, ast.Name))
                or isinstance(node.value, ast.Name | ast.Attribute)
            )
        ):
            continue
        return False
    sources = {
        imported.target for imported in imports_of(name) if within(imported.target, "plutoctl")
    }
    if not sources:
        return False
    if modules()[name].name == "__init__.py":
        return any(not within(source, name) for source in sources)
    return True


def test_no_module_is_a_re_export_shim() -> None:
    assert [name for name in modules() if is_shim(name)] == []
