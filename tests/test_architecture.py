"""The shape of the code (issue 14): packages depend one way, commits happen in one place, mail
leaves only through the outbox, and the project cites nothing outside itself.

Read with the ``ast`` module, without importing anything. The web layer (a package's
``routes.py`` and forms, and the packages that are only pages: the portal and the office) may
import any domain; domain code (models, services, rules, queries) must not form a cycle between
packages, and must not import the web layer.
"""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "storefront"
#: Packages made only of pages (each module adds views to one blueprint).
WEB_PACKAGES = {"portal", "office", "api"}
#: Modules of the web layer wherever they are: routes, and forms (``forms.py``, ``*_forms.py``).
#: Top-level modules of the web layer: the app's assembly and what every page shares.
WEB_TOP = {"__init__.py", "web.py", "cli.py"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, path.relative_to(PACKAGE).parts


def _unit(parts):
    """The package a module belongs to (a top-level module is its own unit)."""
    return parts[0] if len(parts) > 1 else parts[0][:-3]


def _is_web(parts):
    return (len(parts) > 1 and parts[0] in WEB_PACKAGES) or parts[-1] == "routes.py" \
        or parts[-1].endswith("forms.py") or (len(parts) == 1 and parts[0] in WEB_TOP)


def _imports(path, parts):
    """(target parts, line) of every import of the project's own modules in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(parts[:-1])
            target = base[:len(base) - (node.level - 1)] if node.level > 1 else base
            names = [target + node.module.split(".")] if node.module else \
                [target + [alias.name] for alias in node.names]
            for name in names:
                yield name, node.lineno
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storefront"):
            yield node.module.split(".")[1:], node.lineno


def _target_parts(name):
    """The module a dotted name points at, as path parts (a package is its ``__init__.py``)."""
    path = PACKAGE.joinpath(*name)
    if path.with_suffix(".py").exists():
        return tuple(name[:-1]) + (name[-1] + ".py",)
    if (path / "__init__.py").exists():
        return tuple(name) + ("__init__.py",)
    return _target_parts(name[:-1]) if len(name) > 1 else None


def _domain_graph():
    edges = defaultdict(set)
    for path, parts in _modules():
        if _is_web(parts):
            continue
        for name, line in _imports(path, parts):
            target = _target_parts(name)
            if target is None:
                continue
            if _unit(target) != _unit(parts):
                edges[_unit(parts)].add((_unit(target), f"{'/'.join(parts)}:{line}"))
    return edges


def _find_cycle(edges):
    graph = {a: {b for b, _ in targets} for a, targets in edges.items()}
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_domain_packages_depend_one_way():
    edges = _domain_graph()
    assert {"products", "legality", "listing", "orders", "outbox"} <= set(edges), "the walk found too little"
    cycle = _find_cycle(edges)
    if cycle:
        where = [via for a, b in zip(cycle, cycle[1:]) for target, via in sorted(edges[a]) if target == b]
        pytest.fail(f"import cycle between packages: {' -> '.join(cycle)}\n  " + "\n  ".join(where))


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {("b", "x")}, "b": {("c", "y")}, "c": {("a", "z")}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {("b", "x")}, "b": set()}) is None


def test_no_domain_module_imports_a_page():
    wrong = []
    for path, parts in _modules():
        if _is_web(parts):
            continue
        for name, line in _imports(path, parts):
            target = _target_parts(name)
            if target is not None and _is_web(target) and target[-1] != "__init__.py":
                wrong.append(f"{'/'.join(parts)}:{line} imports {'/'.join(target)}")
    assert not wrong, "\n".join(wrong)


def _calls(name):
    for path, parts in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if called == name:
                    yield "/".join(parts), node.lineno


def test_only_the_unit_of_work_commits():
    commits = [f"{where}:{line}" for where, line in _calls("commit") if where != "unit_of_work.py"]
    assert not commits, "commit outside storefront/unit_of_work.py: " + ", ".join(commits)


def test_rollbacks_happen_only_at_the_edges():
    """The unit of work rolls back what it began; the error pages and the health check roll
    back a request that failed on the database."""
    allowed = {"unit_of_work.py", "web.py", "health.py"}
    rollbacks = [f"{where}:{line}" for where, line in _calls("rollback") if where not in allowed]
    assert not rollbacks, ", ".join(rollbacks)


def test_mail_leaves_only_through_the_outbox():
    senders = sorted({where for where, _line in _calls("send_mail")})
    assert senders == ["outbox/worker.py"]


def test_the_housekeeping_jobs_are_an_explicit_list(app):
    from storefront.jobs import HOUSEKEEPING
    from storefront.legality.held_scans import expire_held_scans
    from storefront.orders.deadlines import flag_overdue_parcels
    from storefront.orders.fulfilment import deliver_unconfirmed_parcels
    from storefront.orders.reminders import remind_unpaid_orders
    from storefront.orders.services import expire_unpaid_orders
    from storefront.partners.sync import announce_catalogue_changes

    assert HOUSEKEEPING == (remind_unpaid_orders, expire_unpaid_orders, flag_overdue_parcels,
                            deliver_unconfirmed_parcels, expire_held_scans, announce_catalogue_changes)
    assert app.extensions["housekeeping_jobs"] is HOUSEKEEPING


def test_the_project_cites_nothing_outside_itself():
    outside = ("../shared", "shared/docs", "DOMAIN.md", "STYLE.md")
    found = []
    for path in ROOT.rglob("*"):
        if any(part in (".git", ".venv", "node_modules", "__pycache__", "instance") for part in path.parts):
            continue
        if path.is_file() and path.suffix in (".py", ".md", ".html", ".txt", ".cfg", ".ini", ".json") \
                and path != Path(__file__):
            text = path.read_text(errors="replace")
            found += [f"{path.relative_to(ROOT)}: {word}" for word in outside if word in text]
    assert not found, found
    assert (ROOT / "docs" / "domain.md").exists()
