"""`station` (no subcommand) and `station record` without --headless: the window.

Two environment variables help documentation and demos (not options, so `station --help` stays about
recording): STATION_AUTOSTART=1 starts the first take a second after the window opens;
STATION_SCREENSHOT=path.png saves a grab of the window after STATION_SCREENSHOT_AFTER seconds (default 10)
and, with STATION_SCREENSHOT_QUIT=1, quits anyway right after.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from importlib import resources
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from station.commands.error_lines import print_error
from station.commands.options import config_from_args
from station.config import SessionConfig
from station.session.running import running_session
from station.session.state import Event
from station.session.stop_signals import StopSignals
from widgets.theme import apply_theme

if TYPE_CHECKING:
    from station.saving.queue import SaveQueue
    from station.session.devices import Devices
    from widgets.controller import Controller
    from widgets.main_window import MainWindow

log = logging.getLogger(__name__)
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]
NO_DISPLAY = "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set)"
HEADLESS_HINT = (
    "  Record without a window:  station record --headless [--demo] --root DIR --episodes N ...\n"
    "  Or give it a display: run it from the desktop session, use `ssh -X`, or `xvfb-run station ...`."
)
ICONS = {"record": "record.svg", "next": "next.svg", "rerecord": "rerecord.svg", "reset": "reset.svg",
         "stop": "stop.svg", "quit": "quit.svg"}


def display_available(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if env.get("QT_QPA_PLATFORM"):
        return True
    if platform == "darwin" or platform.startswith("win"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def asset_text(name: str) -> str:
    return resources.files("assets").joinpath(name).read_text(encoding="utf-8")


def asset_icon(name: str) -> QIcon:
    with resources.as_file(resources.files("assets").joinpath(name)) as path:
        return QIcon(str(path))


def apply_style(app: QApplication) -> None:
    try:
        app.setStyleSheet(asset_text("style.qss"))
    except (FileNotFoundError, ModuleNotFoundError):
        log.warning("style sheet missing: using the platform's look")


def apply_icons(window: MainWindow) -> None:
    for name, file in ICONS.items():
        try:
            window.keys[name].setIcon(asset_icon(file))
        except (FileNotFoundError, ModuleNotFoundError):
            pass
    try:
        window.setWindowIcon(asset_icon("station.svg"))
    except (FileNotFoundError, ModuleNotFoundError):
        pass


def build_window(config: SessionConfig, settings: QSettings, devices: Devices | None = None,
                 queue_factory: Callable[..., SaveQueue] | None = None) -> tuple[MainWindow, Controller]:
    """The window and its controller, not yet shown or started (tests build them this way)."""
    from station.saving.queue import SaveQueue
    from widgets.controller import Controller
    from widgets.main_window import MainWindow

    window = MainWindow()
    apply_icons(window)
    controller = Controller(window, config, settings, devices=devices, queue_factory=queue_factory or SaveQueue)
    return window, controller


def _install_demo_hooks(window: MainWindow, controller: Controller) -> None:
    if os.environ.get("STATION_AUTOSTART") == "1":
        QTimer.singleShot(1000, lambda: controller.fire(Event.RECORD))
    shot = os.environ.get("STATION_SCREENSHOT")
    if shot:
        after = float(os.environ.get("STATION_SCREENSHOT_AFTER", "10"))

        def grab() -> None:
            window.grab().save(shot)
            print(f"station: screenshot saved to {shot}", flush=True)
            if os.environ.get("STATION_SCREENSHOT_QUIT") == "1":
                controller.quit_anyway()

        QTimer.singleShot(int(after * 1000), grab)


def plain_words_hook(controller: Controller) -> ExceptHook:
    """A bug in a slot: logged with its traceback, said in the window in one line, and the session goes on."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unexpected error in the window", exc_info=(exc_type, exc, tb))
        if issubclass(exc_type, KeyboardInterrupt):
            return
        try:
            controller.say(f"Something went wrong inside the station ({exc_type.__name__}: {exc}). "
                           "Recording goes on; start the station with -v to log the details.")
        except Exception:  # the window itself is broken: the log has it
            log.error("the window could not show an error", exc_info=True)

    return hook


def run_window(args: argparse.Namespace) -> int:
    if not display_available():
        print_error(getattr(args, "command", None), NO_DISPLAY)
        print(HEADLESS_HINT, file=sys.stderr, flush=True)
        return 2
    config = config_from_args(args, demo_if_no_arms=True)  # a bad option: one line on stderr, exit 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("station")
    app.setApplicationName("station")
    apply_style(app)
    settings = QSettings()
    theme = apply_theme(app, str(settings.value("view/theme", "system")))  # before any widget exists
    window, controller = build_window(config, settings)
    window.set_theme(theme)
    window.theme_changed.connect(lambda theme: settings.setValue("view/theme", theme))
    controller.restore_settings()
    window.show()
    controller.start()
    _install_demo_hooks(window, controller)

    previous_hook = sys.excepthook
    sys.excepthook = plain_words_hook(controller)
    # Ctrl-C, SIGTERM (logout, systemctl stop) and SIGHUP (terminal closed) quit like Ctrl+Q: the take in
    # progress is kept and the window closes once the saves are done. Delivered on the GUI thread.
    stops = StopSignals()
    stops.received.connect(lambda _signum: controller.quit_keeping_the_take())
    # The GUI thread first, start-up objects out of the GC's way, garbage collected on the GUI thread only:
    # until the session's threads have stopped (controller.shutdown), so none of them collects Qt objects.
    with running_session(gui=True) as done:
        try:
            log.debug("window: %s", ", ".join(done))
            code = app.exec()
        finally:
            stops.close()
            controller.shutdown()
            sys.excepthook = previous_hook
    return int(code)
