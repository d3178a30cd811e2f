"""SIGTERM, SIGHUP and Ctrl-C stop a session like Ctrl-C does: the take in progress is kept and saved.

Real subprocesses and real signals, headless and with the window (offscreen).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.saving.spool import ROW_DTYPE, list_spools

SESSION = ("--demo", "--episode-time", "30", "--reset-time", "0", "--camera", "front=testsrc@64x48",
           "--vcodec", "h264")


STARTED: list[subprocess.Popen] = []


def stop_signals_as_a_terminal_gives_them() -> None:
    """Run in the child before exec: the signals these tests send start with their default handling. A child
    inherits ignored signals, and a test run started in the background (`cmd &` in a script, `nohup`) ignores
    SIGINT and SIGHUP, which the station then rightly leaves ignored, as nohup asks."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "station", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=stop_signals_as_a_terminal_gives_them)
    STARTED.append(proc)
    return proc


@pytest.fixture(autouse=True)
def no_station_left_running():
    """A test that fails (or times out) never leaves its station process running."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_for_rows(root: Path, proc: subprocess.Popen, rows: int = 10, timeout: float = 60) -> None:
    """Until the take in progress has `rows` rows on disk."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for spool in list_spools(root):
            rows_bin = spool / "rows.bin"
            if rows_bin.exists() and rows_bin.stat().st_size >= rows * ROW_DTYPE.itemsize:
                return
        pause.wait(0.05)
    proc.kill()
    raise AssertionError(f"no take was recorded: {proc.communicate()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_headless_keeps_and_saves_the_take_in_progress(tmp_path: Path, sig: signal.Signals):
    root = tmp_path / "ds"
    proc = start("record", "--headless", "--root", str(root), "--episodes", "3", *SESSION)
    wait_for_rows(root, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert f"stopping ({sig.name})" in out and "episode 0 saved" in out and "Traceback" not in err
    episodes = DatasetReader(root).episodes()
    assert len(episodes) == 1 and episodes[0]["length"] >= 10
    assert check_dataset(root) == [] and list_spools(root) == []


def test_a_second_signal_leaves_at_once_with_the_take_kept_for_recovery(tmp_path: Path):
    root = tmp_path / "ds"
    proc = start("record", "--headless", "--root", str(root), "--episodes", "3", *SESSION)
    wait_for_rows(root, proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), out + err  # 0 if the save was done before the second signal came
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert "leaving now" in out


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.3])
def test_ctrl_c_while_starting_is_quiet(tmp_path: Path, delay: float):
    root = tmp_path / "ds"
    proc = start("record", "--headless", "--root", str(root), "--episodes", "1", *SESSION)
    threading.Event().wait(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == -signal.SIGINT or "init_import_site" in err:
        # So early that Python was still starting (before any station code ran): CPython's own reaction.
        assert out == "" and not root.exists()
        return
    assert proc.returncode in (0, 130), out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Fatal" not in err
    if root.exists() and (root / "meta" / "info.json").exists():
        assert check_dataset(root) == []


INTERRUPT_WHILE_IMPORTING = """
import os, signal, sys

class Interrupt:  # sends Ctrl-C to this process the moment station.cli starts to be imported
    def find_spec(self, name, path=None, target=None):
        if name == "station.cli":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
from {module} import {func}
sys.argv[0] = "station"
sys.exit({func}())
"""


def test_ctrl_c_while_the_console_script_imports_the_station_is_quiet(tmp_path: Path):
    """The console script pip writes (`from MODULE import FUNC; sys.exit(FUNC())`, with the entry point that
    pyproject.toml declares) remembers a Ctrl-C that comes while the station's modules are imported."""
    entry = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]["station"]
    module, func = entry.split(":")
    code = INTERRUPT_WHILE_IMPORTING.format(module=module, func=func)
    proc = subprocess.run([sys.executable, "-c", code, "check", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, preexec_fn=stop_signals_as_a_terminal_gives_them)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert proc.stderr == "" and proc.stdout == ""


def test_the_window_handles_sigterm_like_ctrl_q(tmp_path: Path):
    root = tmp_path / "ds"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STATION_AUTOSTART="1", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = start("record", "--root", str(root), "--episodes", "3", *SESSION, env=env)
    wait_for_rows(root, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err
    episodes = DatasetReader(root).episodes()
    assert len(episodes) == 1 and episodes[0]["length"] >= 10
    assert check_dataset(root) == [] and list_spools(root) == []
