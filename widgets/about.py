"""Help > About: what the station is and which version is running."""

from __future__ import annotations

import platform
import tomllib
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version


def station_version() -> str:
    """The installed package's version, else the version the source tree declares."""
    try:
        return metadata.version("station")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "(version unknown)"


def about_html() -> str:
    return (
        f"<p><b>Station {station_version()}</b></p>"
        "<p>Records SO-101 teleoperation demonstrations as LeRobot v3.0 datasets.</p>"
        "<p>Takes are saved in the background; each is durable once committed, and takes left by a crash "
        "are saved on the next start.</p>"
        f"<p><small>Python {platform.python_version()} · PySide6 {pyside_version}</small></p>"
    )
