"""An import-linter contract type for what its built-in `forbidden` type cannot say: parts of an external package.

import-linter sees an external package as one module (`PySide6`), so a `forbidden` contract can forbid all of
PySide6 but not PySide6.QtWidgets alone. This contract reads every import statement of the source modules
(at module level and inside functions alike) and fails on any that names a forbidden submodule.
Registered in pyproject.toml under [tool.importlinter] contract_types; `lint-imports` runs it.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports; `from a import b` counts as `a.b`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def module_file(name: str) -> Path:
    root, *rest = name.split(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{root} is not a package that can be found from here")
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


class ForbiddenSubmodulesContract(Contract):
    """The source packages (every module in them) import none of the forbidden submodules of external packages.

    Options:
        - source_modules:       packages whose modules are checked (all their descendants too).
        - forbidden_submodules: dotted names, e.g. PySide6.QtWidgets; any import of them or below them fails.
        - exempt_modules:       modules allowed to import them anyway (the composition root). (Optional.)
    """

    type_name = "forbidden_submodules"

    source_modules = fields.ListField(subfield=fields.StringField())
    forbidden_submodules = fields.ListField(subfield=fields.StringField())
    exempt_modules = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        forbidden = [str(f) for f in self.forbidden_submodules]
        exempt = {str(m) for m in self.exempt_modules}
        modules: set[str] = set()
        for source in self.source_modules:
            modules |= {str(source)} | graph.find_descendants(str(source))
        violations: list[tuple[str, int, str]] = []
        for name in sorted(modules - exempt):
            tree = ast.parse(module_file(name).read_text(encoding="utf-8"))
            for line, imported in imported_names(tree):
                if any(imported == f or imported.startswith(f + ".") for f in forbidden):
                    violations.append((name, line, imported))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for name, line, imported in check.metadata["violations"]:
            output.print_error(f"{name} imports {imported} (l.{line})", bold=False)
            output.new_line()
