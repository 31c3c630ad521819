"""Code versions that follow the rules, so that the UI flags the assets whose rules changed since
their last materialisation.

An asset's version is a digest of the code of its rules and of everything of the platform they
use, transitively: the functions they call and the constants they read (a city typo added to
CITY_TYPOS is a new version of silver.customers, and of nothing else). The code is compared as
syntax, without docstrings: a comment, a docstring or a reformatting is not a new version. What
the platform does not own (Spark, Dagster) is not part of it: a new library is an upgrade, not a
change of rule.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any

ADDRESS = re.compile(r" at 0x[0-9a-f]+")
PLATFORM = "atliqon_platform."
CONSTANTS = (str, int, float, bool, tuple, list, dict, set, frozenset)


def code_version(*rules: Callable[..., Any] | object) -> str:
    """A short digest of ``rules`` (functions, or values such as the source a bronze table reads)
    and of what they use."""
    digest = hashlib.sha256()
    seen: set[int] = set()
    for rule in rules:
        parts = _parts(rule, seen) if isinstance(rule, types.FunctionType) else [_value(rule)]
        for part in parts:
            digest.update(part.encode())
    return digest.hexdigest()[:12]


def _parts(function: Callable[..., Any], seen: set[int]) -> Iterator[str]:
    if id(function) in seen:
        return
    seen.add(id(function))
    yield _syntax(function)
    namespace = function.__globals__
    for name in sorted(_names(function.__code__)):
        if name in namespace:
            yield from _used(name, namespace[name], _names(function.__code__), seen)


def _used(name: str, value: Any, names: set[str], seen: set[int]) -> Iterator[str]:
    """What a name a rule reads contributes: the platform's functions (recursively) and modules
    (the attributes the rule reads of them), and any constant, by value."""
    if isinstance(value, types.FunctionType) and value.__module__.startswith(PLATFORM):
        yield from _parts(value, seen)
    elif isinstance(value, types.ModuleType) and value.__name__.startswith(PLATFORM):
        for attribute in sorted(names & set(vars(value))):
            yield from _used(attribute, getattr(value, attribute), names, seen)
    elif isinstance(value, CONSTANTS):
        yield f"{name}={_value(value)}"


def _value(value: Any) -> str:
    """A value as text, the same in every process: a set's order depends on the process's hash seed,
    and a function's text on where it was loaded (``<function decompress at 0x...>``)."""
    text = repr(sorted(value, key=repr)) if isinstance(value, set | frozenset) else repr(value)
    return ADDRESS.sub("", text)


def _names(code: types.CodeType) -> set[str]:
    """Every global or attribute name the code (and the functions nested in it) reads."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def _syntax(function: Callable[..., Any]) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)
