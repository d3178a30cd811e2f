"""Test set-up: offscreen Qt, and a guard that fails a test leaving threads or windows behind."""

from __future__ import annotations

import os
import tempfile
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the encoder probe's cache (station.saving.throughput): per test run, never the user's own
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="station-tests-cache-")

import pytest  # noqa: E402

# Threads that outlive a single test on purpose (Qt's pool threads are owned by pools and expire by themselves).
_ALLOWED_PREFIXES = ("pytest_timeout", "Dummy-", "QThread", "Thread (pooled)", "asyncio")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    deadline = threading.Event()
    leaked: list[threading.Thread] = []
    for _ in range(50):  # threads told to stop get up to 5 s to end
        leaked = [
            t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(_ALLOWED_PREFIXES)
        ]
        if not leaked:
            break
        deadline.wait(0.1)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"


@pytest.fixture
def no_leaked_windows(qapp):
    yield
    from PySide6.QtWidgets import QApplication

    qapp.processEvents()
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in visible:
        w.close()
    assert not visible, f"windows left open: {[type(w).__name__ for w in visible]}"
