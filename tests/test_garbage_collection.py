"""While the station runs, the cyclic garbage collector runs on the GUI thread only (station.session.collector).

Elsewhere it frees Qt objects on the wrong thread: a camera reader or a save worker that allocates at the wrong
moment destroys the QTimer or the window a reference cycle held.
"""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QTimer

from station.config import CameraSource, SessionConfig
from station.session.builder import start_session
from station.session.collector import GuiThreadCollector
from station.session.running import running_session
from station.session.state import Event


class Node:
    pass


def cycles(n: int) -> Node:
    """n objects, each in a reference cycle of its own, dropped at once but for the last one, returned."""
    node = Node()
    for _ in range(n):
        node = Node()
        node.me = node
    return node


def test_during_a_recorded_take_every_collection_runs_on_the_gui_thread_and_garbage_still_goes(qtbot, tmp_path):
    config = SessionConfig(root=tmp_path / "ds", repo_id="local/gc", episodes=1, episode_time_s=1.5,
                           reset_time_s=0, fps=30, vcodec="h264", demo=True,
                           cameras=(CameraSource("front", "testsrc", 64, 48),))
    collecting: list[int] = []
    freed_on: list[int] = []

    def seen(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting.append(threading.get_ident())

    thresholds = gc.get_threshold()
    gc.set_threshold(600, 9, 8)  # not the default: the scope must put back what it found
    session = start_session(config)
    try:
        recorder = session.recorder
        recorder.start()
        qtbot.waitUntil(lambda: recorder.not_ready_reason() == "", timeout=5_000)
        with running_session(gui=False) as done:
            assert "garbage collected on this thread only" in done
            gc.callbacks.append(seen)
            try:
                recorder.fire(Event.RECORD)
                # A Qt object in a cycle, dropped here while other threads allocate: it must die here.
                holder = Node()
                holder.me, holder.timer = holder, QTimer()
                holder.timer.start(60_000)
                weakref.finalize(holder, lambda: freed_on.append(threading.get_ident()))
                del holder
                # A worker that makes many cycles (enough to cross generation 0's threshold several times over).
                made: list[weakref.ref] = []
                worker = threading.Thread(target=lambda: made.append(weakref.ref(cycles(20_000))), name="allocates")
                worker.start()
                worker.join(30)
                with qtbot.waitSignal(recorder.take_recorded, timeout=20_000):
                    pass
                qtbot.waitUntil(lambda: made[0]() is None and freed_on != [], timeout=5_000)  # the timer collected
            finally:
                gc.callbacks.remove(seen)
        assert collecting, "no collection at all during the take"
        main = threading.get_ident()
        assert set(collecting) == {main}, "a collection ran on another thread than the GUI thread"
        assert freed_on == [main]
        assert gc.isenabled() and gc.get_threshold() == (600, 9, 8)  # as before the scope
    finally:
        session.close()
        gc.set_threshold(*thresholds)


def test_the_collector_puts_back_what_it_found_and_collects_what_is_due():
    was = gc.isenabled()
    gc.disable()  # someone had switched it off: it stays off afterwards
    try:
        collector = GuiThreadCollector()
        collector.start()
        assert not gc.isenabled()
        gone = weakref.ref(cycles(1))  # garbage, in a cycle
        cycles(2_000)  # generation 0 is past its threshold
        assert collector.due() is not None
        collector.collect_due()
        assert gone() is None and sum(collector.collections) == 1
        gc.enable()  # a library that switches it back on meanwhile is overruled at the next check
        collector.collect_due()
        assert not gc.isenabled()
        collector.stop()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()

