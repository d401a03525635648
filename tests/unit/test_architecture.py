"""The house rules of docs/design.md §0, read from the imports of the tree (issue 11):

- the rules (processors/) import no I/O and nothing of the engine; the codec (schemas/) imports
  only the rules; neither reaches up into streams/ or bench/;
- nothing in the product (processors/, schemas/, streams/) imports the tooling (bench/);
- the engine room (streams/engine/) imports no client library and no adapter room: it talks to ports;
- no import circle between modules (imports inside functions included: a circle through a lazy
  import is still a circle for a reader; names imported for the type checker only are not imports);
- no module over MAX_LINES lines.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("processors", "schemas", "streams", "bench")
MAX_LINES = 400
IO_LIBRARIES = {"redis", "confluent_kafka", "faust", "aiokafka", "socket", "subprocess", "requests", "urllib",
                "http", "aiohttp", "os", "pathlib", "threading", "asyncio", "time"}
CLIENTS = {"redis", "confluent_kafka", "faust", "aiokafka", "aiohttp"}


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node but the bodies of ``if TYPE_CHECKING:`` (names for the type checker, never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(name: str, path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports at run time (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return out


MODULES = modules()
GRAPH = {name: {i for i in imports(name, path) if i in MODULES and i != name} for name, path in MODULES.items()}
EXTERNAL = {name: {i.split(".")[0] for i in imports(name, path)} for name, path in MODULES.items()}


def room(name: str) -> str:
    return name.split(".")[0]


def test_rules_are_pure_and_the_codec_stays_below_the_engine():
    bad = []
    for name, deps in GRAPH.items():
        if room(name) == "processors":
            bad += [f"{name} -> {d}" for d in deps if room(d) != "processors"]
            bad += [f"{name} -> {lib}" for lib in EXTERNAL[name] & IO_LIBRARIES]
        if room(name) == "schemas":
            bad += [f"{name} -> {d}" for d in deps if room(d) not in ("schemas", "processors")]
    assert not bad, bad


def test_the_product_never_imports_the_tooling():
    bad = [f"{name} -> {d}" for name, deps in GRAPH.items() if room(name) != "bench"
           for d in deps if room(d) == "bench"]
    assert not bad, bad


def test_the_engine_talks_to_ports_not_to_clients():
    bad = []
    for name, deps in GRAPH.items():
        if name.startswith("streams.engine"):
            bad += [f"{name} -> {lib}" for lib in EXTERNAL[name] & CLIENTS]
            bad += [f"{name} -> {d}" for d in deps if d.startswith(("streams.redis", "streams.kafka",
                                                                      "streams.runtime", "streams.web",
                                                                      "streams.cli"))]
    assert not bad, bad


def test_no_import_circle():
    """Tarjan's strongly connected components over the module graph: every one of size 1."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_no_module_over_the_limit():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


KEY_PREFIXES = ("idx:", "pos:", "jobs:", "kc:", "{m:", "sess:", "audit:", "dlq:", "{fx}")


def test_every_redis_key_name_is_spelled_in_keys_py():
    """streams/redis/keys.py owns the key names: no other module of the product or the bench writes one
    as a string literal (f-strings included)."""
    owner = ROOT / "streams" / "redis" / "keys.py"
    bad = []
    for name, path in MODULES.items():
        if path == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                first = node.values[0] if node.values else None
                text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if text.startswith(KEY_PREFIXES):
                bad.append(f"{name}:{node.lineno}: {text!r}")
    assert not bad, bad
