"""The package's shape, read from its code: imports run one way, from the entry points down.

``python -m atliqon_platform_tests.import_graph`` prints the graph these tests check.
"""

import ast

from atliqon_platform_tests.import_graph import PACKAGE_DIR, cycles, folder_graph, layers

DRIVERS = {"cli", "backfill", "pipes_entrypoint"}
ENTRY_POINTS = {"cli.py", "pipes_entrypoint.py", "definitions.py"}


def test_no_cycle_between_folders():
    assert cycles(folder_graph()) == []


def test_a_cycle_is_found_where_there_is_one():
    graph = {"assets": {"checks"}, "checks": {"partitions", "assets"}, "partitions": set()}
    assert cycles(graph) == [["assets", "checks"]]
    assert layers(graph)[0] == ["assets", "checks"]


def test_only_the_drivers_import_the_definitions():
    graph = folder_graph()
    assert {folder for folder, imported in graph.items() if "definitions" in imported} <= DRIVERS
    assert graph["settings"] == graph["tables"] == set()  # at the bottom: everything may use them


def test_only_the_entry_points_read_the_settings():
    calls = set()
    for path in PACKAGE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load_settings":
                calls.add(str(path.relative_to(PACKAGE_DIR)))
    assert calls == ENTRY_POINTS
