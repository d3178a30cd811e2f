"""Reviewing in the window: mark keys, the episodes view, drop-last, replay (simulated arms, tiny cameras)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from station.dataset.curation import episode_rows
from station.dataset.episode_facts import read_episode_facts
from station.dataset.reader import DatasetReader
from station.session.state import Phase
from tests.test_gui_window import Station, station  # noqa: F401  (the fixture)
from widgets.episodes_view import EPISODE, FILTERS, EpisodesDialog, row_matches, show_episodes
from widgets.keymap import KEYMAP
from widgets.replay_view import Playhead, ReplayDialog
from widgets.save_queue_presenter import queue_facts, row_view


def record_takes(window, controller, qtbot, n: int) -> None:
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    for i in range(n):
        qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 5, timeout=5000)
        if i == n - 1:
            with qtbot.waitSignal(recorder.finished, timeout=30000):
                window.keys["stop"].trigger()
        else:
            window.keys["next"].trigger()
    assert recorder.phase is Phase.STOPPED


def test_review_keys_do_not_clash_with_lerobots_and_show_in_help():
    lerobot = {"Space", "Right", "Left", "Escape", "R", "N", "Q"}
    mine = {k for b in KEYMAP if b.name in ("mark_success", "mark_failure", "note", "replay", "episodes")
            for k in b.keys}
    assert mine and not mine & lerobot
    from widgets.keymap import keys_help_html

    assert "Mark success" in keys_help_html() and "Mark failure" in keys_help_html()


def test_mark_keys_mark_the_last_take_even_before_it_is_saved(station, qtbot):  # noqa: F811
    window, controller = station.open(episodes=2, reset_time_s=0.0)
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 5, timeout=5000)
    window.keys["next"].trigger()  # take 0 ends, take 1 starts at once
    window.keys["mark_failure"].trigger()  # the last take is 0, maybe not committed yet
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 5, timeout=5000)
    with qtbot.waitSignal(recorder.finished, timeout=30000):
        window.keys["stop"].trigger()
    window.keys["mark_success"].trigger()  # take 1, committed by now
    controller.review.mark_last(None, "clean grasp")
    facts = read_episode_facts(controller.config.root)
    assert (facts[0].outcome, facts[1].outcome, facts[1].note) == ("failure", "success", "clean grasp")


def test_episodes_view_lists_filters_marks_excludes_and_drops(station, qtbot):  # noqa: F811
    window, controller = station.open(episodes=3, reset_time_s=0.0)
    record_takes(window, controller, qtbot, 3)
    root = controller.config.root
    window.keys["episodes"].trigger()
    dialog = controller.review.episodes_dialog
    assert isinstance(dialog, EpisodesDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.reading, timeout=10000)  # the rows are read off the GUI thread
    assert dialog.model.rowCount() == 3
    qtbot.waitUntil(lambda: len(dialog.model.thumbs) == 3, timeout=10000)  # decoded off the GUI thread

    dialog.select(1)
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):  # marking writes, then the view reads again
        dialog.mark("failure")
    dialog.select(2)
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        dialog.toggle_excluded()
    rows = {r["episode_index"]: r for r in episode_rows(root)}
    assert rows[1]["outcome"] == "failure" and rows[2]["excluded"]
    assert dialog.buttons["exclude"].text() == "Include"  # the selection stayed on episode 2

    dialog.filter_box.setCurrentText("failures")
    assert dialog.proxy.rowCount() == 1 and dialog.proxy.index(0, EPISODE).data() == "1"
    dialog.filter_box.setCurrentText("kept")
    assert dialog.proxy.rowCount() == 2
    dialog.filter_box.setCurrentText("all episodes")
    dialog.table.sortByColumn(EPISODE, dialog.table.horizontalHeader().sortIndicatorOrder().DescendingOrder)
    assert dialog.proxy.index(0, EPISODE).data() == "2"

    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        assert controller.review.drop_last()
    said = [t for t in window.messages.texts() if "dropped" in t]
    assert said and "Review > Put the dropped take back" in said[-1] and "station" not in said[-1]  # window words
    assert DatasetReader(root).total_episodes == 2 and dialog.model.rowCount() == 2
    assert controller.session.writer.total_episodes == 2
    assert controller.review.last_take().episode == 1  # the dropped take is no longer the last one
    # the queue, the last-take line and the session's count say so, with numbers from the dataset and queue
    queue, recorder = controller.session.queue, controller.session.recorder
    dropped_job = next(j for j in queue.jobs if j.episode == 2)
    fps = queue.writer.spec.fps
    assert row_view(dropped_job, 2, fps).words.startswith("dropped from the dataset (was episode 2")
    assert recorder.episode == 2 and recorder.machine.kept == 2
    assert window.session_bar.cadence_label.text() == "Last take: episode 2 dropped."
    assert "next: episode 2" in window.session_bar.episode_label.text()  # the number the next take records
    assert queue_facts(queue, 1, 1.0, 0.0).saved == 2
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        assert controller.review.undo_drop()
    assert row_view(dropped_job, 2, fps).words.startswith("saved as episode 2") and recorder.machine.kept == 3
    assert window.session_bar.cadence_label.text() == "Last take: episode 2 put back."
    assert DatasetReader(root).total_episodes == 3 and dialog.model.rowCount() == 3
    assert controller.session.writer.total_episodes == controller.session.queue.committed_episodes == 3
    assert not controller.review.undo_drop()  # nothing left to put back
    assert controller.review.drop_last()
    assert show_episodes(controller) is dialog
    dialog.close()


def test_a_dropped_take_whose_number_a_new_take_took_cannot_be_put_back_and_changes_nothing(station, qtbot):  # noqa: F811
    window, controller = station.open(episodes=4, reset_time_s=0.0)
    record_takes(window, controller, qtbot, 2)
    queue, recorder = controller.session.queue, controller.session.recorder
    qtbot.waitUntil(lambda: queue.is_idle, timeout=30000)
    assert controller.review.drop_last()
    dropped_job = next(j for j in queue.jobs if j.episode == 1)
    fps = queue.writer.spec.fps
    model = window.queue_model
    row = queue.jobs.index(dropped_job)
    assert "Put the dropped take back" in model.view_at(row).words and controller.review.can_undo_drop()

    record_takes(window, controller, qtbot, 1)  # saved as episode 1: it takes the dropped take's number
    qtbot.waitUntil(lambda: queue.is_idle, timeout=30000)
    new_job = queue.jobs[-1]
    assert new_job.episode == 1 and not new_job.dropped
    assert model.view_at(row).words == "dropped from the dataset (was episode 1)"  # no way back offered
    assert not controller.review.can_undo_drop()
    kept, saved = recorder.machine.kept, queue_facts(queue, 1, 1.0, 0.0).saved
    assert (kept, saved) == (2, 2)

    assert not controller.review.undo_drop()  # refused, in words
    assert any(t.startswith("Could not put the dropped take back") for t in window.messages.texts())
    assert dropped_job.dropped and not new_job.dropped  # neither row changed, nor the counts
    assert row_view(new_job, 1, fps).words.startswith("saved as episode 1")
    assert (recorder.machine.kept, queue_facts(queue, 1, 1.0, 0.0).saved) == (kept, saved)
    assert DatasetReader(controller.config.root).total_episodes == 2


def test_replaying_the_last_take_holds_the_reset_until_the_replay_closes(station, qtbot):  # noqa: F811
    window, controller = station.open(episodes=3, reset_time_s=30.0)
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 5, timeout=5000)
    window.keys["next"].trigger()
    qtbot.waitUntil(lambda: recorder.phase is Phase.RESETTING, timeout=5000)
    assert not recorder.countdown_held
    qtbot.waitUntil(lambda: controller.review.last_take().recorded, timeout=5000)  # on disk: it can be replayed
    window.keys["replay"].trigger()
    dialog = controller.review.replay_dialog
    assert isinstance(dialog, ReplayDialog) and dialog.isVisible()
    assert recorder.countdown_held  # the operator watches: the next take does not start behind the replay
    qtbot.waitUntil(lambda: "held while the replay is open" in window.session_bar.countdown_label.text(),
                    timeout=3000)
    assert dialog.windowTitle() == "Replay — take 0 (being saved)"
    dialog.close()
    assert not recorder.countdown_held and recorder.phase is Phase.RESETTING
    window.keys["next"].trigger()  # next take now: the held take is saved, here while its replay plays
    window.keys["replay"].trigger()  # no event ran since: its commit cannot have been heard yet
    replay = controller.review.replay_dialog
    assert replay.windowTitle() == "Replay — take 0 (being saved)"
    qtbot.waitUntil(lambda: controller.session.queue.jobs[0].episode == 0, timeout=30000)
    qtbot.waitUntil(lambda: replay.windowTitle() == "Replay — episode 0", timeout=5000)
    replay.close()


def test_row_filters():
    row = {"outcome": "failure", "flags": ["too-short"], "excluded": False, "task": "Pick", "note": "slipped"}
    assert [f for f in FILTERS if row_matches(row, f, "")] == ["all episodes", "failures", "flagged", "kept"]
    assert row_matches(row, "all episodes", "SLIP") and not row_matches(row, "all episodes", "place")


def test_replay_plays_a_committed_take_and_a_take_from_its_spool(station, qtbot):  # noqa: F811
    window, controller = station.open(episodes=1, reset_time_s=0.0)
    record_takes(window, controller, qtbot, 1)
    window.keys["replay"].trigger()
    dialog = controller.review.replay_dialog
    assert isinstance(dialog, ReplayDialog) and dialog.playhead.playing
    assert set(dialog.canvases) == {"front", "wrist"}
    from PySide6.QtWidgets import QLabel

    legend = dialog.findChild(QLabel, "replayLegend")
    assert "leader (the action)" in legend.text() and "follower (the state)" in legend.text()
    titles = [p.titleLabel.text for p in dialog.plots.ci.items]
    assert len(titles) == 6 and not any(t.endswith(".pos") for t in titles)  # the joint names, as live
    qtbot.waitUntil(lambda: dialog.shown_frame >= 0, timeout=5000)
    dialog.speed_box.setCurrentIndex(2)
    assert dialog.playhead.speed == 4
    qtbot.waitUntil(lambda: not dialog.playhead.playing, timeout=10000)  # played to the end
    assert dialog.slider.value() == dialog.source.length - 1
    qtbot.waitUntil(lambda: dialog.shown_frame == dialog.source.length - 1, timeout=5000)
    dialog.slider.setValue(2)  # scrub
    qtbot.waitUntil(lambda: dialog.shown_frame == 2, timeout=5000)
    dialog.close()
    QApplication.processEvents()


def test_playhead_advances_by_wall_time_and_speed():
    p = Playhead(length=100, fps=10)
    p.play(now=0.0)
    p.advance(1.0)
    assert p.frame == 10
    p.speed = 4
    p.advance(2.0)
    assert p.frame == 50
    p.advance(10.0)
    assert p.frame == 99 and not p.playing
    p.seek(500)
    assert p.frame == 99


def test_the_queue_panel_shows_a_saved_takes_quality_flags(tmp_path):
    from station.saving.queue import JobState, SaveJob
    from widgets.save_queue_presenter import row_view

    job = SaveJob(0, tmp_path, "pick", 15, 1, state=JobState.DONE, episode=4, flags=["too-short", "loop-behind"])
    view = row_view(job, 4, 30)
    assert view.words == "saved as episode 4 · too short, fell behind"
    assert "the take is very short" in view.tooltip
    job.flags = []
    assert row_view(job, 4, 30).words == "saved as episode 4"


def test_keys_pressed_in_the_episodes_view_move_in_it_and_never_drive_the_take(station, qtbot):  # noqa: F811
    from PySide6.QtCore import Qt

    window, controller = station.open(episodes=3, reset_time_s=0.0)
    record_takes(window, controller, qtbot, 1)
    recorder = controller.session.recorder
    window.keys["record"].trigger()  # a take records while the operator looks through the episodes
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
    take = recorder.loop.take
    dialog = show_episodes(controller)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    dialog.table.setFocus()
    qtbot.waitUntil(dialog.table.hasFocus, timeout=3000)
    for k in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Space,
              Qt.Key.Key_R, Qt.Key.Key_N, Qt.Key.Key_Q):
        qtbot.keyClick(dialog.table, k)  # move in the table: no reset, re-record, next or stop of the take
    assert recorder.phase is Phase.RECORDING and recorder.loop.take is take
    qtbot.keyClick(dialog.table, Qt.Key.Key_Escape)  # closes the view, does not stop the session
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    assert recorder.phase is Phase.RECORDING and recorder.loop.take is take


def test_review_keys_in_the_episodes_view_and_a_replay_act_on_the_episode_shown(station, qtbot):  # noqa: F811
    from PySide6.QtCore import Qt

    window, controller = station.open(episodes=3, reset_time_s=0.0)
    record_takes(window, controller, qtbot, 3)
    root = controller.config.root
    dialog = show_episodes(controller)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog and not dialog.reading, timeout=10000)
    dialog.select(0)
    dialog.table.setFocus()
    qtbot.waitUntil(dialog.table.hasFocus, timeout=3000)
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_S)  # the selected episode, not the last take
    dialog.select(1)
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_F)
    assert [r["outcome"] for r in episode_rows(root)] == ["success", "failure", "unknown"]
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)  # Tab leaves the table for the buttons
    assert not dialog.table.hasFocus() and dialog.isAncestorOf(QApplication.focusWidget())

    dialog.select(0)
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_P)  # replays the selected episode
    replay = controller.review.replay_dialog
    assert isinstance(replay, ReplayDialog) and replay.windowTitle() == "Replay — episode 0"
    replay.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is replay, timeout=3000)
    qtbot.keyClick(replay, Qt.Key.Key_F)  # marks the episode replayed
    qtbot.waitUntil(lambda: episode_rows(root)[0]["outcome"] == "failure", timeout=5000)
    assert [r["outcome"] for r in episode_rows(root)] == ["failure", "failure", "unknown"]
    replay.close()
    dialog.close()
