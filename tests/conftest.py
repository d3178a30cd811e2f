"""Test set-up: offscreen Qt, and a guard that fails a test leaving threads or windows behind."""

from __future__ import annotations

import os
import tempfile
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the encoder and disk probes' cache (station.saving.measured_cache): per test run, never the user's own
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="station-tests-cache-")

import pytest  # noqa: E402


def _known_fast_temp_disk() -> None:
    """The temporary folder's disk, where tests make their datasets, as measured fast: each session's preflight
    reads the figure instead of writing up to a gigabyte to measure it (tests of the probe itself write, and
    keep nothing here)."""
    import json
    from pathlib import Path

    from station.saving.disk_speed import cache_key
    from station.saving.measured_cache import cache_directory

    path = cache_directory() / "disk-write-speed.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({cache_key(Path(tempfile.gettempdir())): 1e12}))


_known_fast_temp_disk()

# Threads that outlive a single test on purpose (Qt's pool threads are owned by pools and expire by themselves).
_ALLOWED_PREFIXES = ("pytest_timeout", "Dummy-", "QThread", "Thread (pooled)", "asyncio")


@pytest.fixture(autouse=True)
def widgets_die_on_the_gui_thread(request):
    """Collect a Qt test's garbage on the GUI thread, right after the test.

    A window left in a reference cycle is otherwise freed by whichever thread next triggers Python's cyclic
    collector, perhaps a save worker: a QWidget destroyed there deadlocks (its destructor takes Qt's locks,
    then waits for the GIL the GUI thread holds while it waits for those locks).
    """
    yield
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        import gc

        gc.collect()


@pytest.fixture(autouse=True)
def no_leaked_save_work(monkeypatch):
    """Fails a test that leaves a save-queue worker unreleased, or a job working with no worker to finish it.

    Every SaveQueue made during the test is watched. After the test (and its own clean-up) the queue's
    workers' last signals are delivered; then each worker must have been released, and a queue still open
    may hold no job in a working state (queued, recording, preparing, committing) that nothing works on.
    """
    import weakref

    from station.saving import queue as queue_module

    made: list[weakref.ref] = []
    original_init = queue_module.SaveQueue.__init__

    def watching_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(queue_module.SaveQueue, "__init__", watching_init)
    yield
    queues = [q for q in (ref() for ref in made) if q is not None]
    if not queues:
        return
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

    app = QCoreApplication.instance()
    for q in queues:
        deadline = QDeadlineTimer(5000)
        while q.workers and not deadline.hasExpired() and app is not None:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        assert q.workers == 0, f"save-queue workers never released: {q.workers} ({[j.state for j in q.jobs]})"
        if not q.closed:
            working = [j for j in q.jobs if j.state in queue_module.WORKING]
            assert not working, f"jobs left working with no worker: {[(j.id, j.state.value) for j in working]}"


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


@pytest.fixture
def open_window(qtbot, tmp_path, no_leaked_windows):
    """Open the window on a config (`open_window(config, queue_factory=...)`); each one is closed at the end, once
    a pack or push it started has finished."""
    from PySide6.QtCore import QSettings

    from station.saving.queue import SaveQueue
    from widgets.app import build_window

    opened = []

    def open_(config, queue_factory=SaveQueue):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window, controller = build_window(config, settings, queue_factory=queue_factory)
        qtbot.addWidget(window)
        opened.append((window, controller))
        window.show()
        controller.start()
        return window, controller

    yield open_
    for window, controller in opened:
        qtbot.waitUntil(lambda w=window: w.pack_job is None, timeout=60_000)
        controller.quit_anyway()
        controller.shutdown()
