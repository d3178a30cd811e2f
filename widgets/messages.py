"""The message area: problems and notices in plain words, in the window, never as a modal or a traceback.

Each message is a coloured banner with what happened and what to do, an optional action button, and a
close button. Repeated messages are not stacked twice.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


COLOURS = {
    Level.INFO: ("#e3f2fd", "#0d47a1"),
    Level.WARNING: ("#fff8e1", "#6d4c00"),
    Level.ERROR: ("#ffebee", "#8e0000"),
}


class Banner(QFrame):
    def __init__(self, text: str, level: Level, actions: list[tuple[str, Callable[[], None]]],
                 on_close: Callable[[Banner], None]) -> None:
        super().__init__()
        self.setObjectName(f"banner_{level.value}")
        self.text = text
        self.level = level
        bg, fg = COLOURS[level]
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background:{bg}; border:1px solid {fg}; border-radius:4px; }}"
            f"QLabel {{ color:{fg}; background:transparent; }}"
        )
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
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
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> Banner:
        for banner in self.banners:
            if banner.text == text:
                return banner
        banner = Banner(text, level, actions or [], self.dismiss)
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

    def texts(self) -> list[str]:
        return [b.text for b in self.banners]
