"""`station record --headless`: a whole session without a window, on a QCoreApplication event loop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

from station import stopping
from station.commands.error_lines import print_error
from station.commands.options import add_session_options, config_from_args
from station.config import SessionConfig, default_of
from station.errors import DiskFullError

HANDLES_STOP_SIGNALS = True  # Ctrl-C, SIGTERM and SIGHUP stop the session gracefully (station/stopping.py)

# What `station record --headless` exits with (also shown by `station record --help`).
EXIT_DONE = 0
EXIT_SAVE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STOPPED_EARLY = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = f"""exit codes (--headless):
  {EXIT_DONE}    every take recorded was saved: all episodes asked for, or fewer because you stopped it
       (Ctrl-C, SIGTERM or SIGHUP: the take in progress is kept and the saves finish)
  {EXIT_SAVE_FAILED}    a save failed: recording stopped; that take and those after it are kept in the spool
       (`station recover --root DIR` saves them once the cause is fixed)
  {EXIT_BAD_INPUT}    bad options or dataset: nothing was recorded or changed
  {EXIT_STOPPED_EARLY}    the session stopped by itself before all episodes were recorded (a camera or arm failure,
       a full disk, no room for the next take); every take recorded was saved, the one a failure cut
       short kept and flagged
  {EXIT_INTERRUPTED}  interrupted before recording started, or a second Ctrl-C left before the saves finished
       (unsaved takes stay in the spool for `station recover`)"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a session (add --headless for no window)", epilog=EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_session_options(p)
    p.add_argument("--headless", action="store_true", help="no window: record every take with the timers, then exit")


def run(args: argparse.Namespace, open_window: Callable[[argparse.Namespace], int]) -> int:
    """`open_window` is the window's entry, given by the command line (the only module that may import widgets)."""
    if not args.headless:
        return open_window(args)
    config = config_from_args(args)
    return run_headless(config)


BACKLOG_WARNING = 2  # finished takes waiting to be saved before we say saving is behind


def say(text: str) -> None:
    print(text, flush=True)


def run_headless(config: SessionConfig) -> int:
    from PySide6.QtCore import QCoreApplication

    from station.dataset.reader import last_task
    from station.preflight import measured_disk, preflight_line
    from station.saving.queue import SaveJob
    from station.saving.spool import spool_root
    from station.session.builder import Session, check_root, dataset_spec, open_session
    from station.session.devices import open_devices
    from station.session.problems import Problem
    from station.session.recorder import FinishedTake, spool_space_problem
    from station.session.running import running_session
    from station.session.state import Event, Phase
    from station.session.stop_signals import StopSignals

    check_root(config)
    if config.resume and config.task == default_of(SessionConfig, "task"):  # no --task: go on as the dataset did
        task = last_task(config.root)
        if task is not None and task != config.task:
            config = replace(config, task=task)
            say(f"task: “{task}”, the dataset's last episode's (--task gives another)")
    devices = open_devices(config)
    session: Session | None = None
    stops = None
    running = ExitStack()  # the running scope, left once the session's threads are stopped (see `finally`)
    try:
        if stopping.requested():  # a stop signal while starting: leave before anything is created
            say("stopped before recording started: nothing recorded")
            return EXIT_INTERRUPTED
        # No room for the first take: refuse before the dataset is created or touched (bad input changes nothing).
        problem = spool_space_problem(config.root, dataset_spec(config, devices).cameras, config.fps,
                                      config.episode_time_s)
        if problem:
            raise DiskFullError(problem)
        app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
        # Nobody is here to ask about a take a crash cut short: recovery drops it (hold_partial=False).
        session = open_session(config, devices, hold_partial=False)
        writer, queue, recorder = session.writer, session.queue, session.recorder
        for line in session.recovered:
            say(line)
        failures: list[SaveJob] = []

        def on_recorded(ft: FinishedTake) -> None:
            say(f"episode {ft.episode} recorded: {ft.take.rows} frames")
            say(f"  cadence: {ft.take.cadence.summary()}")
            waiting = queue.backlog
            if waiting >= BACKLOG_WARNING:
                say(f"  saving is behind: {waiting} finished takes wait to be saved (kept on disk in the spool)")

        def on_saved(job: SaveJob) -> None:
            say(f"episode {job.episode} saved")

        def on_failed(job: SaveJob) -> None:
            # Nobody is there to retry: stop taking takes, keep every unsaved one, and leave once nothing
            # else can be saved (recorder.stuck), rather than wait for ever for an idle queue.
            failures.append(job)
            episode = queue.expected_episode(job)
            tell(
                f"episode {episode} could not be saved: {job.error}. Recording stopped; "
                f"its take and any after it are kept in {spool_root(writer.root)}: "
                f"`station recover --root {writer.root}` saves them once that is fixed"
            )
            recorder.stop_for(f"recording stopped: episode {episode} could not be saved")

        def on_problem(problem: Problem) -> None:
            tell(problem.text)
            if recorder.stopped_by and recorder.phase is not Phase.STOPPED:
                recorder.try_fire(Event.STOP)  # e.g. no room for the next take: nobody will free it here

        interrupts = {"n": 0}

        def on_stop_signal(signum: int) -> None:
            interrupts["n"] += 1
            if interrupts["n"] == 1:
                what = "saving the take in progress" if recorder.phase is Phase.RECORDING else "no take in progress"
                say(f"stopping ({stopping.signal_name(signum)}): {what}, waiting for saves "
                    "(Ctrl-C again to leave now)")
                recorder.try_fire(Event.STOP)
            else:
                say("leaving now: unsaved takes stay in the spool; `station recover` saves them")
                app.exit(EXIT_INTERRUPTED)

        recorder.take_recorded.connect(on_recorded)
        queue.job_saved.connect(on_saved)
        queue.job_failed.connect(on_failed)
        recorder.problem.connect(on_problem)
        recorder.finished.connect(app.quit)

        def on_take_cut(_ft: FinishedTake) -> None:
            # A camera or arm failure ended the take: nobody is there to keep or drop it, so it is kept
            # (flagged); the session stops, the saves drain, and the exit code says it stopped early.
            tell(f"{recorder.device_failure}: the take in progress was kept (flagged) and the session stopped")
            recorder.try_fire(Event.KEEP)

        recorder.take_cut.connect(on_take_cut)
        recorder.stuck.connect(lambda _job: app.exit(EXIT_SAVE_FAILED))
        if stopping.requested():
            say("stopped before recording started: nothing recorded")
            return EXIT_INTERRUPTED
        stops = StopSignals()
        stops.received.connect(on_stop_signal)
        fit = preflight_line(devices.camera_specs, config.fps, config.vcodec,  # before the first take
                             disk=measured_disk(config.root, lambda: queue.pending_count > 0))  # not while saving
        if fit:
            say(fit)
        say(f"recording {config.episodes} episodes of {config.episode_time_s:g} s into {config.root}")
        # Start-up objects out of the garbage collector's way, garbage collected on this thread only.
        running.enter_context(running_session(gui=False))
        recorder.start()
        recorder.fire(Event.RECORD)
        code = app.exec()
        if code == EXIT_INTERRUPTED:
            return EXIT_INTERRUPTED
        recorder.shutdown()
        if failures:
            return EXIT_SAVE_FAILED
        return EXIT_STOPPED_EARLY if recorder.stopped_by else EXIT_DONE
    finally:
        with running:
            if stops is not None:
                stops.close()
            if session is not None:
                session.recorder.loop.stop()
                session.queue.shutdown()
                session.lock.release()
            devices.close()


def tell(text: str) -> None:
    """A problem, in one line on stderr."""
    print_error("record", text)
