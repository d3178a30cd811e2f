"""`station record --headless`: a whole session without a window, on a QCoreApplication event loop."""

from __future__ import annotations

import argparse
import signal
import sys

from station.commands.options import add_session_options, config_from_args
from station.config import SessionConfig


def add_parser(sub) -> None:
    p = sub.add_parser("record", help="record a session (add --headless for no window)")
    add_session_options(p)
    p.add_argument("--headless", action="store_true", help="no window: record every take with the timers, then exit")


def run(args: argparse.Namespace) -> int:
    if not args.headless:
        from widgets.app import run_window

        return run_window(args)
    config = config_from_args(args)
    return run_headless(config)


BACKLOG_WARNING = 2  # finished takes waiting to be saved before we say saving is behind
DEVICE_FAILED = 3  # exit code: a camera or an arm failed, the take in progress was kept and the session stopped


def say(text: str) -> None:
    print(text, flush=True)


def run_headless(config: SessionConfig) -> int:
    from PySide6.QtCore import QCoreApplication, QTimer

    from station.saving.queue import SaveJob, SaveQueue
    from station.saving.recovery import recover_into_queue
    from station.session.devices import open_devices
    from station.session.recorder import FinishedTake, Recorder
    from station.session.setup import check_root, open_dataset
    from station.session.state import Event

    check_root(config)
    devices = open_devices(config)
    recorder = None
    lock = None
    try:
        writer, lock = open_dataset(config, devices)
        app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
        queue = SaveQueue(writer)
        for line in recover_into_queue(writer, queue):
            say(line)
        recorder = Recorder(
            writer, queue, devices.leader, devices.follower, devices.cameras, config.fps,
            config.episodes, config.episode_time_s, config.reset_time_s, config.task,
        )
        failures: list[str] = []

        def on_recorded(ft: FinishedTake) -> None:
            say(f"episode {ft.episode} recorded: {ft.take.rows} frames")
            say(f"  cadence: {ft.take.cadence.summary()}")
            waiting = queue.backlog
            if waiting >= BACKLOG_WARNING:
                say(f"  saving is behind: {waiting} finished takes wait to be saved (kept on disk in the spool)")

        def on_saved(job: SaveJob) -> None:
            say(f"episode {job.episode} saved")

        def on_failed(job: SaveJob) -> None:
            failures.append(job.error)
            say(f"episode {queue.expected_episode(job)} could not be saved: {job.error} (take kept in {job.spool_dir})")

        recorder.take_recorded.connect(on_recorded)
        queue.job_saved.connect(on_saved)
        queue.job_failed.connect(on_failed)
        recorder.problem.connect(lambda text: print(f"station: {text}", file=sys.stderr, flush=True))
        recorder.finished.connect(app.quit)

        def on_take_cut(_ft: FinishedTake) -> None:
            # A camera or arm failure ended the take: nobody is there to keep or drop it, so it is kept
            # (flagged); the session stops, the saves drain, and the exit code says a device failed.
            print(f"station: {recorder.device_failure}: the take in progress was kept (flagged) and the session "
                  "stopped", file=sys.stderr, flush=True)
            recorder.try_fire(Event.KEEP)

        recorder.take_cut.connect(on_take_cut)
        # A failed save stops the headless session from waiting for ever: nobody is there to press Retry.
        queue.job_failed.connect(lambda _job: recorder.try_fire(Event.STOP))

        interrupts = {"n": 0}

        def on_sigint(*_args) -> None:
            interrupts["n"] += 1
            if interrupts["n"] == 1:
                say("stopping: saving the take in progress and waiting for saves (Ctrl-C again to leave now)")
                recorder.try_fire(Event.STOP)
            else:
                say("leaving now: unsaved takes stay in the spool; `station recover` saves them")
                app.exit(130)

        previous = signal.signal(signal.SIGINT, on_sigint)
        heartbeat = QTimer()  # lets Python run its signal handlers while Qt's loop waits
        heartbeat.start(100)
        heartbeat.timeout.connect(lambda: None)
        say(f"recording {config.episodes} episodes of {config.episode_time_s:g} s into {config.root}")
        recorder.start()
        recorder.fire(Event.RECORD)
        code = app.exec()
        signal.signal(signal.SIGINT, previous)
        if code == 130:
            recorder.loop.stop()
            queue.shutdown()
            return 130
        recorder.shutdown()
        if recorder.device_failure:
            return DEVICE_FAILED
        return 1 if failures else 0
    finally:
        if recorder is not None:
            recorder.loop.stop()
        devices.close()
        if lock is not None:
            lock.release()

