"""The seed's own files (../shared/seed/000_*.txt) and the shapes its Flask code builds.

The seed document holds each file as a fenced block under a heading naming it
(``### app.py - Complete Flask Application``, ``### /home/pi/meter-reader/config.json``).
:func:`seed_files` returns them by file name; :class:`SeedApp` reads the Flask app with
``ast`` so the tests compare against the keys its code really builds, not a copy.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A heading naming a file, then its fenced block.
_BLOCK = re.compile(r"^###\s+(\S+)[^\n]*\n+```[\w-]*\n(.*?)^```", re.S | re.M)


def seed_document(shared: Path) -> Path:
    (doc,) = sorted((shared / "seed").glob("000_*.txt"))
    return doc


def seed_files(shared: Path) -> dict[str, str]:
    """Every fenced file of the seed document, by its base name (``app.py``, ``.env`` …)."""
    text = seed_document(shared).read_text(encoding="utf-8")
    return {Path(name).name: body for name, body in _BLOCK.findall(text)}


#: A key tree: each key maps to its sub-tree (a dict literal), or to the ast node of its
#: value (a leaf).
Shape = dict[str, Any]


@dataclass
class SeedApp:
    """The seed's app.py, parsed: the dict literals each route and helper builds."""

    tree: ast.Module

    @classmethod
    def parse(cls, source: str) -> SeedApp:
        return cls(ast.parse(source))

    @property
    def functions(self) -> set[str]:
        return {n.name for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef)}

    def function(self, name: str) -> ast.FunctionDef:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        raise KeyError(name)

    def dicts(self, name: str) -> list[ast.Dict]:
        """The outermost dict literals of function ``name``, in source order."""
        found: list[ast.Dict] = []
        inner: set[int] = set()
        for node in ast.walk(self.function(name)):
            if isinstance(node, ast.Dict) and id(node) not in inner:
                found.append(node)
                inner.update(id(n) for n in ast.walk(node) if n is not node)
        return sorted(found, key=lambda d: (d.lineno, d.col_offset))

    def shape(self, node: ast.AST, within: str) -> Shape | ast.AST:
        """The key tree of a dict literal; a name assigned from a call to one of the
        seed's own functions is that function's first returned dict."""
        if isinstance(node, ast.Dict):
            return {
                str(k.value): self.shape(v, within)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
            }
        if isinstance(node, ast.Name):
            for assign in ast.walk(self.function(within)):
                if (
                    isinstance(assign, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
                    and isinstance(assign.value, ast.Call)
                ):
                    func = assign.value.func
                    callee = getattr(func, "attr", getattr(func, "id", ""))
                    if callee in self.functions:
                        return self.returned(callee)
        return node

    def returned(self, name: str) -> Shape:
        """The key tree of the first dict function ``name`` returns."""
        for node in ast.walk(self.function(name)):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
                out = self.shape(node.value, name)
                assert isinstance(out, dict)
                return out
        raise KeyError(name)

    def body(self, name: str, index: int) -> Shape:
        """The key tree of the ``index``-th dict literal of function ``name``."""
        out = self.shape(self.dicts(name)[index], name)
        assert isinstance(out, dict)
        return out

    def subscript_keys(self, name: str, target: str) -> set[str]:
        """Keys the function adds with ``target["key"] = …`` (e.g. ``response["history"]``)."""
        keys = set()
        for node in ast.walk(self.function(name)):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if (
                        isinstance(t, ast.Subscript)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == target
                        and isinstance(t.slice, ast.Constant)
                    ):
                        keys.add(str(t.slice.value))
        return keys


def words(node: Any) -> set[Any] | None:
    """The constant values a leaf can take (``"a" if … else "b"``, ``"ok"``), else None."""
    if isinstance(node, ast.Constant):
        return {node.value}
    if isinstance(node, ast.IfExp):
        a, b = words(node.body), words(node.orelse)
        return None if a is None or b is None else a | b
    return None


def is_comparison(node: Any) -> bool:
    return isinstance(node, ast.Compare)


#: Constant values of the seed that are its bugs, fixed on purpose (test_bugs.py pins them).
FIXED = {"net_flow.description"}


def compare(
    ours: Any, seed: Shape, where: str = "", extra_words: dict[str, set] | None = None
) -> None:
    """Assert ``ours`` has every key of the seed's tree, nested the same, with its
    constant words and its booleans (extra keys of ours are allowed beside)."""
    extra_words = extra_words or {}
    assert isinstance(ours, dict), f"{where or 'body'} is not an object: {ours!r}"
    for key, leaf in seed.items():
        path = f"{where}.{key}" if where else key
        assert key in ours, f"{path} is missing"
        if isinstance(leaf, dict):
            compare(ours[key], leaf, path, extra_words)
            continue
        allowed = words(leaf)
        if allowed is not None and path not in FIXED and any(isinstance(w, str) for w in allowed):
            assert ours[key] in allowed | extra_words.get(path, set()), (path, ours[key])
        if is_comparison(leaf):
            assert isinstance(ours[key], bool), (path, ours[key])
