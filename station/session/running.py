"""What is set once the station has started, for as long as it runs: one scope for the window, headless
recording and the benches (widgets.app.run_window, `station record --headless`, the load and window benches)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from station.priority import GUI_RT_PRIORITY, foreground, startup_objects_frozen
from station.session.collector import GuiThreadCollector

log = logging.getLogger(__name__)


@contextmanager
def running_session(gui: bool, collector: GuiThreadCollector | None = None) -> Iterator[list[str]]:
    """The start-up objects frozen, garbage collected on the calling (GUI) thread only (see
    station.session.collector) and, for the window, its GUI thread in the foreground (see
    station.priority.foreground). Enter it on the thread that runs the event loop; everything is put back at
    the end (tests run many sessions in one process). Pass a `collector` to read its figures. Yields what was
    done."""
    collector = collector or GuiThreadCollector()
    with startup_objects_frozen() as frozen:
        collector.start()
        try:
            done = [f"{frozen} start-up objects frozen", "garbage collected on this thread only"]
            if not gui:
                yield done
                return
            with foreground(GUI_RT_PRIORITY) as gui_priority:
                yield [*done, f"GUI thread at {gui_priority}"]
        finally:
            collector.stop()
            log.debug("%s", collector.summary())
