"""The message area: problems and notices in plain words, in the window, never as a modal or a traceback.

Each message is a coloured banner with the time it was said, what happened and what to do, an optional
action button, and a close button. A message on a topic replaces the earlier one on that topic (see
widgets.banners), and `clear(topic)` takes it away when its condition ends. Colours follow the theme:
dark banners on a dark palette, light ones on a light palette, both readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from widgets.banners import topic_of


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# (background, text and border) for a light and for a dark palette
COLOURS = {
    Level.INFO: (("#e3f2fd", "#0d47a1"), ("#10263d", "#9fcbff")),
    Level.WARNING: (("#fff8e1", "#6d4c00"), ("#33290a", "#ffd770")),
    Level.ERROR: (("#ffebee", "#8e0000"), ("#3d1214", "#ff9e9e")),
}


def palette_is_dark(palette: QPalette | None = None) -> bool:
    if palette is None:
        app = QApplication.instance()
        palette = app.palette() if isinstance(app, QApplication) else QPalette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class Banner(QFrame):
    def __init__(self, text: str, level: Level, actions: list[tuple[str, Callable[[], None]]],
                 on_close: Callable[[Banner], None], topic: str) -> None:
        super().__init__()
        self.topic = topic
        self.text = text
        self.level = level
        self.time_label = QLabel()
        self.time_label.setObjectName("bannerTime")
        self.label = QLabel(text)
        self.label.setWordWrap(True)  # a long message wraps inside the banner: it never widens the window
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setMinimumWidth(200)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.time_label)
        layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        for caption, callback in actions:
            button = QPushButton(caption)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(callback)
            button.clicked.connect(lambda: on_close(self))
            layout.addWidget(button)
            self.buttons.append(button)
        close = QPushButton("✕")
        close.setObjectName("bannerClose")
        close.setToolTip("Dismiss")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.setFixedWidth(28)
        close.clicked.connect(lambda: on_close(self))
        layout.addWidget(close)
        self.said(text, level)

    def said(self, text: str, level: Level, when: float | None = None) -> None:
        """(Re)state the message: new words, level and time."""
        self.text, self.level = text, level
        self.label.setText(text)
        self.time_label.setText(time.strftime("%H:%M", time.localtime(when)))
        self.time_label.setToolTip(time.strftime("said at %H:%M:%S", time.localtime(when)))
        self.restyle()

    def restyle(self) -> None:
        self.setObjectName(f"banner_{self.level.value}")
        bg, fg = COLOURS[self.level][1 if palette_is_dark() else 0]
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background:{bg}; border:1px solid {fg}; border-radius:4px; }}"
            f"QLabel {{ color:{fg}; background:transparent; }}"
            f"QLabel#bannerTime {{ font-weight:bold; padding-right:6px; }}"
        )


class MessageArea(QWidget):
    MAX = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageArea")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self.banners: list[Banner] = []
        self.setVisible(False)

    def show_message(self, text: str, level: Level = Level.ERROR,
                     actions: list[tuple[str, Callable[[], None]]] | None = None,
                     topic: str | None = None) -> Banner:
        """Show a banner; one on the same topic (by default: the same words) is replaced, not stacked."""
        topic = topic or topic_of(text)
        for banner in self.banners:
            if banner.topic == topic and not actions and not banner.buttons:
                banner.said(text, level)
                return banner
        self.clear(topic)
        banner = Banner(text, level, actions or [], self.dismiss, topic)
        self.banners.append(banner)
        self._layout.addWidget(banner)
        while len(self.banners) > self.MAX:
            self.dismiss(self.banners[0])
        self.setVisible(True)
        return banner

    def dismiss(self, banner: Banner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)
            self._layout.removeWidget(banner)
            banner.hide()
            banner.deleteLater()
        self.setVisible(bool(self.banners))

    def clear(self, topic: str) -> None:
        """Take away the banners on a topic whose condition has ended."""
        for banner in [b for b in self.banners if b.topic == topic]:
            self.dismiss(banner)

    def topics(self) -> list[str]:
        return [b.topic for b in self.banners]

    def restyle(self) -> None:
        for banner in self.banners:
            banner.restyle()

    def texts(self) -> list[str]:
        return [b.text for b in self.banners]
