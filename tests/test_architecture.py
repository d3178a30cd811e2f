"""The core (station/) stays Qt-free except QtCore: it must import with QtWidgets, QtGui and pyqtgraph blocked."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import station

BLOCKED = ("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph", "widgets")


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(station.__path__, "station.") if m.name != "station.__main__")


def test_every_core_module_imports_without_widgets():
    modules = core_modules()
    assert "station.session.recorder" in modules and "station.saving.queue" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {BLOCKED!r}:\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_the_layer_contract_sees_imports_inside_functions():
    import ast

    from import_contracts import imported_names

    code = "def show():\n    from PySide6 import QtGui\n    from PySide6.QtWidgets import (\n        QLabel,\n    )\n"
    names = [name for _line, name in imported_names(ast.parse(code))]
    assert names == ["PySide6.QtGui", "PySide6.QtWidgets.QLabel"]


def test_the_layer_contracts_are_kept():
    """The same check CI runs (`lint-imports`): station/ imports no widgets, QtWidgets, QtGui or pyqtgraph."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout[-3000:]
