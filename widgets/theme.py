"""System, Light or Dark: the same on every platform (Fusion with a palette of our own for Light and Dark).

"System" gives back the platform's own style and palette as they were when the window started.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES = ("system", "light", "dark")
THEME_NAMES = {"system": "&System", "light": "&Light", "dark": "&Dark"}
_system: dict[int, tuple[str, QPalette]] = {}  # per application: its own style name and palette

_R = QPalette.ColorRole
_DISABLED = QPalette.ColorGroup.Disabled


def _palette(colours: dict[QPalette.ColorRole, str], disabled_text: str) -> QPalette:
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (_R.Text, _R.WindowText, _R.ButtonText):
        palette.setColor(_DISABLED, role, QColor(disabled_text))
    return palette


def dark_palette() -> QPalette:
    return _palette({
        _R.Window: "#2b2d31", _R.WindowText: "#e6e6e6", _R.Base: "#1f2124", _R.AlternateBase: "#272a2e",
        _R.ToolTipBase: "#33363b", _R.ToolTipText: "#e6e6e6", _R.Text: "#e6e6e6", _R.Button: "#35383d",
        _R.ButtonText: "#e6e6e6", _R.BrightText: "#ff6b6b", _R.Link: "#6cb6ff", _R.Highlight: "#3d7bd9",
        _R.HighlightedText: "#ffffff", _R.PlaceholderText: "#8c8c8c", _R.Mid: "#55585e", _R.Dark: "#1a1b1e",
        _R.Light: "#45484e", _R.Midlight: "#3c3f44", _R.Shadow: "#111214",
    }, "#7a7a7a")


def light_palette() -> QPalette:
    return _palette({
        _R.Window: "#efefef", _R.WindowText: "#1a1a1a", _R.Base: "#ffffff", _R.AlternateBase: "#f5f5f5",
        _R.ToolTipBase: "#ffffdc", _R.ToolTipText: "#1a1a1a", _R.Text: "#1a1a1a", _R.Button: "#e8e8e8",
        _R.ButtonText: "#1a1a1a", _R.BrightText: "#c62828", _R.Link: "#0b57d0", _R.Highlight: "#308cc6",
        _R.HighlightedText: "#ffffff", _R.PlaceholderText: "#808080", _R.Mid: "#b8b8b8", _R.Dark: "#9f9f9f",
        _R.Light: "#ffffff", _R.Midlight: "#f2f2f2", _R.Shadow: "#767676",
    }, "#9a9a9a")


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply a theme by name (an unknown name means "system"); returns the theme applied."""
    key = id(app)
    if key not in _system:
        _system[key] = (app.style().name(), app.palette())
    style_name, palette = _system[key]
    if theme == "light":
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(light_palette())
    elif theme == "dark":
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(dark_palette())
    else:
        theme = "system"
        app.setStyle(QStyleFactory.create(style_name) or QStyleFactory.create("Fusion"))
        app.setPalette(palette)
    sheet = app.styleSheet()
    if sheet:  # widgets styled by the sheet keep the old colours until it is applied again
        app.setStyleSheet("")
        app.setStyleSheet(sheet)
    return theme
