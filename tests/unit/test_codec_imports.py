"""The codec (schemas/) is the bottom room: it imports no other first-party package (not the rules,
the engine or the bench), so nothing above it can close an import circle through it, and its
micro-benchmarks live in bench/ (bench.codec_read, bench.codec_write)."""
from __future__ import annotations

import ast
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
OTHER_FIRST_PARTY = {"processors", "streams", "bench", "tests"}


def first_party_imports(path: Path) -> set[str]:
    """Top-level first-party packages other than schemas that ``path`` imports (anywhere in it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names} & OTHER_FIRST_PARTY
    return found


def test_schemas_imports_no_other_first_party_package():
    modules = sorted(SCHEMAS.glob("*.py"))
    assert len(modules) > 5
    assert {m.name: first_party_imports(m) for m in modules if first_party_imports(m)} == {}
