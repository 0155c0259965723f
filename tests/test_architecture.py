"""The package's import rules (docs/architecture.md), checked on the source itself.

- The layers contract in pyproject.toml (import-linter): imports only go down, siblings of one
  layer do not import each other; imports inside functions count.
- No module imports a private name (``_x``, or a name from a ``_x`` module) of another
  sub-package; ``scicmr._io``, ``scicmr._progress`` and ``scicmr.errors`` are the shared bottom.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = Path(__file__).resolve().parents[1]
SHARED_BOTTOM = {"_io", "_progress", "_faults", "errors"}


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, src: Path):
    """(line, imported module, imported names) for every import in ``path``, nested ones too."""
    module = _module_name(path, src)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            yield node.lineno, base, [alias.name for alias in node.names]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports_across_packages(src: Path = SRC) -> list[str]:
    """Every import of another sub-package's private module or name, as ``file:line: what``."""
    found = []
    for path in sorted((src / "scicmr").rglob("*.py")):
        here = _module_name(path, src).split(".")
        for line, target, names in _imports(path, src):
            parts = target.split(".")
            if parts[0] != "scicmr" or len(parts) < 2 or parts[1] in SHARED_BOTTOM:
                continue
            if len(here) > 1 and parts[1] == here[1]:
                continue  # inside one sub-package, private helpers are fair
            bad = [p for p in parts[1:] if _private(p)] + [n for n in names if _private(n)]
            if bad:
                found.append(f"{path.relative_to(src)}:{line}: {target} {', '.join(bad)}")
    return found


def test_no_private_imports_across_sub_packages():
    assert private_imports_across_packages() == []


def test_the_checker_finds_a_private_import(tmp_path):
    package = tmp_path / "scicmr" / "service"
    package.mkdir(parents=True)
    (package / "x.py").write_text("def f():\n    from scicmr.workflow.search import _helper\n")
    assert private_imports_across_packages(tmp_path) == ["scicmr/service/x.py:2: scicmr.workflow.search _helper"]


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is not installed (pip install -e '.[dev]')")
def test_layers_contract_is_kept():
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
