"""The import graph between the package's folders, read from the code (not from running it), so the
shape of the package can be checked by a test and shown by a command:

    python -m atliqon_platform_tests.import_graph

A folder is a sub-package of ``atliqon_platform`` (``assets``, ``checks``...) or one of its top-level
modules (``definitions``, ``settings``...). Every import counts, also one inside a function: a late
import hides a cycle from Python, not from the next reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "atliqon_platform"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE


def folder_of(module: str) -> str | None:
    """``atliqon_platform.assets.bronze`` -> ``assets``; None for a module outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def _imported_modules(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target
            # ``from atliqon_platform import settings`` imports a module named by the alias
            yield from (f"{target}.{alias.name}" for alias in node.names)


def folder_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Each folder and the folders it imports (itself left out)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent).with_suffix("")
        module = ".".join(relative.parts[:-1] if path.name == "__init__.py" else relative.parts)
        source = folder_of(module)
        if source is None:
            continue
        imported = graph.setdefault(source, set())
        for target in _imported_modules(path, module):
            folder = folder_of(target)
            if folder is not None and folder != source and _exists(package_dir, folder):
                imported.add(folder)
    return graph


def _exists(package_dir: Path, folder: str) -> bool:
    return (package_dir / folder).is_dir() or (package_dir / f"{folder}.py").is_file()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of folders that import each other (strongly connected, more than one folder)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """The folders from the top down: each one only imports folders of the rows below it."""
    remaining = {node: set(targets) & set(graph) for node, targets in graph.items()}
    rows: list[list[str]] = []
    while remaining:
        bottom = sorted(node for node, targets in remaining.items() if not targets)
        if not bottom:  # a cycle: what is left cannot be ordered
            rows.append(sorted(remaining))
            break
        rows.append(bottom)
        for node in bottom:
            del remaining[node]
        for targets in remaining.values():
            targets.difference_update(bottom)
    return rows[::-1]


def report(graph: dict[str, set[str]]) -> str:
    lines = ["folder import graph of atliqon_platform (folder -> the folders it imports)", ""]
    width = max(map(len, graph))
    lines += [f"  {node:<{width}} -> {', '.join(sorted(graph[node])) or '-'}" for node in sorted(graph)]
    lines += ["", "layers, top down (a folder imports only folders of lower rows):"]
    lines += [f"  {number}. {', '.join(row)}" for number, row in enumerate(layers(graph), 1)]
    found = cycles(graph)
    lines.append("")
    if found:
        lines += [f"cycle between folders: {' <-> '.join(group)}" for group in found]
    else:
        lines.append("no cycle between folders")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(folder_graph()))
