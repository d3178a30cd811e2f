"""The window at laptop sizes: it fits the screen, the live view stays readable, nothing clickable moves."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, Qt
from PySide6.QtWidgets import QApplication

from station.saving.spool import CadenceReport
from station.session.state import Phase
from tests.test_gui_window import Station
from widgets.main_window import MainWindow
from widgets.messages import MessageArea
from widgets.presenters import (
    SessionFacts,
    cadence_words,
    dropped_words,
    put_back_words,
    session_view,
    thrown_away_words,
)
from widgets.window_layout import MIN_PLOTS_HEIGHT, fits, initial_rect

SCREENS = [(1280, 720), (1366, 768)]


def test_the_window_opens_at_a_size_that_fits_the_screen():
    assert initial_rect((0, 0, 1920, 1080)) == (96, 54, 1728, 972)  # a large screen used well
    assert initial_rect((0, 0, 2560, 1440)) == (128, 72, 2304, 1296)
    assert initial_rect((0, 0, 1280, 720)) == (0, 0, 1280, 720)
    assert initial_rect((0, 27, 1366, 741)) == (0, 27, 1366, 741)
    assert not fits((0, 0, 1500, 950), (0, 0, 1280, 720))
    assert fits((0, 0, 1280, 720), (0, 0, 1280, 720))


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def on_screen(monkeypatch, size: tuple[int, int]) -> None:
    monkeypatch.setattr(MainWindow, "available_rect", lambda self: (0, 0, *size))


def inside(window: MainWindow, widget) -> bool:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return window.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("size", SCREENS)
def test_laptop_screens_show_six_readable_plots_cameras_buttons_and_the_queue(station, qtbot, monkeypatch, size):
    on_screen(monkeypatch, size)
    window, _controller = station.open()
    assert window.size().toTuple() == size
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable()
                    and all(v.isVisible() for v in window.cameras.views), timeout=3000)
    assert window.joints.height() >= MIN_PLOTS_HEIGHT and len(window.joints.plots) == 6
    for plot in window.joints.plots:
        assert plot.getViewBox().height() >= 50  # each joint's curve has room, not a 10 px line
    for widget in [*window.controls.buttons.values(), *window.cameras.views, window.queue_panel.table,
                   window.status]:
        assert widget.isVisible() and inside(window, widget)
    assert min(view.canvas.height() for view in window.cameras.views) >= 150


def test_a_remembered_size_that_no_longer_fits_is_not_used(station, qtbot, monkeypatch, tmp_path):
    big = MainWindow()
    big.setGeometry(QRect(0, 0, 1500, 950))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/geometry", big.saveGeometry())
    settings.sync()
    big.deleteLater()
    on_screen(monkeypatch, (1280, 720))
    window, controller = station.open()
    assert window.width() <= 1280 and window.height() <= 720
    controller.quit_anyway()  # and a size that does not fit is not remembered either
    on_screen(monkeypatch, (1024, 600))
    assert window.layout_to_remember()[0] is None


def test_reset_layout_gives_the_default_and_an_unusable_saved_layout_is_ignored(station, qtbot, monkeypatch,
                                                                                  tmp_path):
    on_screen(monkeypatch, (1366, 768))
    window, controller = station.open()
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    default = (window.joints.height(), window.splitter.sizes())
    window.vsplitter.setSizes([100, 600])  # the plots squashed
    window.splitter.setSizes([1300, 60])
    qtbot.waitUntil(lambda: not window.layout_usable(), timeout=3000)
    squashed = window.vsplitter.saveState(), window.splitter.saveState()
    window.reset_layout_action.trigger()
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    assert abs(window.joints.height() - default[0]) <= 12  # squashed, it was a third of that
    assert all(abs(a - b) <= 8 for a, b in zip(window.splitter.sizes(), default[1], strict=True))
    # a squashed layout remembered from before is ignored at the next start
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/state", squashed[0])
    settings.setValue("window/splitter", squashed[1])
    settings.sync()
    controller.quit_anyway()
    settings.setValue("window/state", squashed[0])
    settings.setValue("window/splitter", squashed[1])
    settings.sync()
    window2, _ = station.open(root=tmp_path / "ds2")
    qtbot.waitUntil(lambda: window2.layout_settled() and window2.layout_usable(), timeout=3000)
    assert window2.joints.height() >= MIN_PLOTS_HEIGHT
    assert isinstance(squashed[0], QByteArray)


@pytest.fixture
def styled(qapp):
    from widgets.app import apply_style

    apply_style(qapp)  # the window's own fonts and sizes
    yield
    qapp.setStyleSheet("")


def test_nothing_clickable_moves_between_phases(station, qtbot, monkeypatch, styled):
    on_screen(monkeypatch, (1280, 720))
    window, controller = station.open(reset_time_s=30.0)
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    recorder = controller.session.recorder
    clickable = [*window.controls.buttons.values(), window.session_bar.task_edit,
                 window.queue_panel.retry_button, window.queue_panel.discard_button]

    def places():
        qtbot.wait(50)  # let the layout settle after the phase's words changed
        return [(w.mapTo(window, QPoint(0, 0)).toTuple(), w.size().toTuple()) for w in clickable]

    idle = places()
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.phase is Phase.RECORDING and recorder.loop.take.rows >= 5, timeout=5000)
    recording = places()
    window.keys["next"].trigger()
    qtbot.waitUntil(lambda: recorder.phase is Phase.RESETTING, timeout=5000)
    qtbot.waitUntil(lambda: "Last take" in window.session_bar.cadence_label.text(), timeout=5000)
    resetting = places()
    assert idle == recording == resetting


def test_a_long_message_never_widens_the_window(station, qtbot, monkeypatch):
    on_screen(monkeypatch, (1280, 720))
    window, controller = station.open()
    width = window.width()
    long = "arm error: " + "the follower's servo 3 did not answer on /dev/ttyACM0; " * 12
    window.status.show_arms(long, ok=False)
    window.session_bar.show_cadence(None)
    controller.say(long)
    qtbot.wait(100)
    assert window.width() == width and window.minimumSizeHint().width() <= width
    assert window.status.arms_label.toolTip().endswith(long)
    for i in range(4):  # many banners scroll within a few lines: the live view keeps its height
        controller.say(f"message {i}: " + long)
    qtbot.waitUntil(lambda: window.messages.height() <= MessageArea.MAX_HEIGHT, timeout=2000)
    assert window.joints.height() >= MIN_PLOTS_HEIGHT and window.height() == 720


def test_the_held_countdown_and_the_hints_never_widen_the_window(station, qtbot, monkeypatch, styled):
    on_screen(monkeypatch, (1280, 720))
    window, controller = station.open(episodes=20, reset_time_s=30.0)
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    window.keys["next"].trigger()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    qtbot.keyClick(window.joints, Qt.Key.Key_F2)  # the countdown holds and says so, at length
    qtbot.waitUntil(lambda: "held while you type" in window.session_bar.countdown_label.text(), timeout=3000)
    qtbot.wait(100)  # let the layout take the new words
    assert window.width() == 1280 and window.minimumSizeHint().width() <= 1280
    assert window.session_bar.countdown_label.toolTip() == window.session_bar.countdown_label.text()


def test_the_session_bar_says_every_phase_whole_at_1280x720(station, qtbot, monkeypatch, styled):
    on_screen(monkeypatch, (1280, 720))
    window, controller = station.open(episodes=500, reset_time_s=30.0)
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    bar, recorder = window.session_bar, controller.session.recorder

    def whole(phase: Phase) -> None:
        qtbot.waitUntil(lambda: recorder.phase is phase, timeout=5000)
        if phase in (Phase.RESETTING, Phase.STOPPED):  # a take that went well, whatever this machine gave it
            qtbot.waitUntil(lambda: bar.cadence_label.text().startswith("Last take:"), timeout=5000)
            bar.show_cadence(CadenceReport(fps=30, ticks=300, late_ticks=0, worst_period_ms=34,
                                           repeated_frames={"front": 0}, stalled_cameras=[]))
        qtbot.wait(300)  # the refresh puts the words in, the layout takes them
        for label in (bar.episode_label, bar.countdown_label, bar.hint_label, bar.cadence_label):
            assert not label.is_elided(), (phase, label.objectName(), label.text())

    whole(Phase.IDLE)
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
    whole(Phase.RECORDING)
    window.keys["next"].trigger()
    whole(Phase.RESETTING)
    assert bar.edit_task()  # typing the task holds the countdown, and says so
    whole(Phase.RESETTING)
    bar.task_edit.hand_back_keys()
    window.keys["stop"].trigger()
    whole(Phase.STOPPED)  # the take is held: its countdown and the keys that keep or throw it away
    worst = CadenceReport(fps=30, ticks=3000, late_ticks=120, worst_period_ms=400, repeated_frames={"front": 99},
                          stalled_cameras=["front"], filled_ticks=999, interrupted="camera front sent nothing")
    for line in (thrown_away_words(), dropped_words(498), put_back_words(498), cadence_words(worst)):
        bar.cadence_label.setText(line)
        qtbot.wait(100)
        assert not bar.cadence_label.is_elided(), line
    bar.episode_label.setText(progress_view_of_a_cut_take := session_view(SessionFacts(
        "me/ds", Phase.STOPPED, 499, 498, 500, 30.0, 20.0, held=True, cut=True)).episode)
    qtbot.wait(100)
    assert not bar.episode_label.is_elided(), progress_view_of_a_cut_take


def test_the_save_queues_summary_says_a_backlog_whole_at_1280x720(station, qtbot, monkeypatch, styled):
    from widgets.save_queue_presenter import QueueFacts, summary_view

    on_screen(monkeypatch, (1280, 720))
    window, _controller = station.open()
    qtbot.waitUntil(lambda: window.layout_settled() and window.layout_usable(), timeout=3000)
    behind = QueueFacts(saved=128, saving=3, failed=0, drain_s=125.0, backlog=2, lag_s=None, encode_fps=40.0,
                        need_fps=60.0)
    window.queue_panel.show_summary(summary_view(behind))
    qtbot.wait(50)
    assert "lengthen the reset, or use H.264 video" in window.queue_panel.summary.text()
    assert not window.queue_panel.summary.is_elided(), window.queue_panel.summary.text()


BANNER_WORDS = [
    "The disk holding /data is nearly full (3.2 GB free): free some space before the next take, or saves will fail.",
    "2 cameras 640x480 at 30 fps with AV1 need 60 frames/s, but this machine encodes about 40: saving will fall "
    "behind by about 52 s per minute recorded (takes wait on disk, nothing is lost); to keep up use H.264 video.",
    "The follower arm on /dev/ttyACM0 stopped answering: recording stopped. Check its power and USB cable, then "
    "use Devices > Connect arms… Switching the follower's torque off…",
    "Could not switch the follower's torque off: switch its power off.",
    "No take started: a take cut short by a failure waits: keep it or drop it first.",
]


def test_banner_rules_fold_the_older_ones_and_keep_questions_in_view():
    from widgets.window_layout import NOTICE, OFFER, QUESTION, banners_height, banners_shown, shown_banners

    assert banners_shown(720) == banners_shown(768) == 2 and banners_shown(1080) > 2
    assert banners_height(720) <= 120 and banners_height(1080) > banners_height(720)
    assert shown_banners([NOTICE, NOTICE], 2) == [0, 1]
    # the newest always; then a question before an offer before a notice, whatever their age
    assert shown_banners([NOTICE, QUESTION, OFFER, NOTICE, NOTICE], 2) == [1, 4]
    assert shown_banners([NOTICE, QUESTION, OFFER, NOTICE, NOTICE], 3) == [1, 2, 4]
    assert shown_banners([NOTICE, NOTICE, NOTICE, NOTICE], 2) == [2, 3]


def queue_window(qtbot, monkeypatch, size):
    from station.saving.queue import JobState
    from tests.test_gui_save_queue_panel import ListQueue

    on_screen(monkeypatch, size)
    window = MainWindow()
    qtbot.addWidget(window)
    window.place()
    queue = ListQueue()
    window.queue_model.set_queue(queue)  # type: ignore[arg-type]
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.layout_settled, timeout=3000)

    def add_rows(count: int) -> None:
        for _ in range(count):
            queue.add(state=JobState.DONE, finished_at=1.0, episode=len(queue.jobs))

    return window, add_rows


@pytest.mark.parametrize("size", SCREENS)
@pytest.mark.parametrize("banners", [3, 5])
def test_the_newest_queue_row_stays_in_view_with_banners_up(qtbot, monkeypatch, styled, size, banners):
    from widgets.messages import Level

    window, add_rows = queue_window(qtbot, monkeypatch, size)
    table = window.queue_panel.table

    def newest_row_inside_the_viewport() -> bool:
        last = window.queue_panel.kept.index(window.queue_panel.kept.rowCount() - 1, 0)
        rect = table.visualRect(last)
        return rect.isValid() and rect.height() > 0 and table.viewport().rect().contains(rect)

    def readable() -> bool:
        return (window.size().toTuple() == size and window.minimumSizeHint().height() <= size[1]
                and window.joints.height() >= MIN_PLOTS_HEIGHT
                and min(p.getViewBox().height() for p in window.joints.plots) >= 50
                and inside(window, window.queue_panel.table) and inside(window, window.status))

    add_rows(4)  # rows first, then the banners take room from the queue (as in a session that meets trouble)
    qtbot.waitUntil(newest_row_inside_the_viewport, timeout=3000)
    window.messages.show_message(BANNER_WORDS[0], Level.WARNING, topic="disk")
    cut = window.messages.show_message("The take was cut short. Keep it, or drop it?", Level.WARNING,
                                       [("Keep it", lambda: None), ("Drop it", lambda: None)], "cut:1", question=True)
    for i in range(2, banners):
        window.messages.show_message(BANNER_WORDS[i], topic=f"t{i}")
    assert len(window.messages.banners) == banners
    qtbot.waitUntil(lambda: newest_row_inside_the_viewport() and readable(), timeout=3000)
    shown = window.messages.shown()
    assert len(shown) == 2 and cut in shown and shown[-1] is window.messages.banners[-1]  # the question stays
    assert window.messages.fold_button.isVisible()
    assert window.messages.fold_button.text().startswith(f"▸ {banners - 2} earlier message")
    add_rows(5)  # more than six rows in all, with the banners up
    qtbot.waitUntil(lambda: newest_row_inside_the_viewport() and readable(), timeout=3000)
    window.messages.fold_button.click()  # show all: they scroll within their room, the newest row stays
    assert len(window.messages.shown()) == banners
    qtbot.waitUntil(lambda: newest_row_inside_the_viewport() and readable(), timeout=3000)
    assert window.messages.height() <= window.messages.max_height
    add_rows(1)
    qtbot.waitUntil(lambda: newest_row_inside_the_viewport() and readable(), timeout=3000)
    table.verticalScrollBar().setValue(0)  # the operator scrolls up to an old take: the view stays there
    add_rows(1)
    qtbot.wait(50)
    assert table.verticalScrollBar().value() == 0
