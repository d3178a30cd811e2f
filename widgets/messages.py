"""The message area: problems and notices in plain words, in the window, never as a modal or a traceback.

Each message is a coloured banner with the time it was said, what happened and what to do, an optional
action button, and a close button. A message on a topic replaces the earlier one on that topic (see
widgets.banners), and `clear(topic)` takes it away when its condition ends. A plain notice (INFO, nothing to
answer or click) goes by itself after INFO_SHOWN_MS, so that it never keeps an offer or an error folded away.
Colours follow the theme: dark banners on a dark palette, light ones on a light palette, both readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from enum import Enum

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.banners import own_topic
from widgets.window_layout import (
    NOTICE,
    OFFER,
    QUESTION,
    SMALL_WINDOW_H,
    banners_height,
    banners_shown,
    shown_banners,
)

Actions = Sequence[tuple[str, Callable[[], object]]]  # a banner's buttons: label and what it does
INFO_SHOWN_MS = 30_000  # a plain notice's time in view (said again: from then)

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
    def __init__(self, text: str, level: Level, actions: Actions,
                 on_close: Callable[[Banner], None], topic: str, question: bool = False) -> None:
        super().__init__()
        self.topic = topic
        self.question = question  # the session waits for its answer (one of its buttons)
        self._expiry = QTimer(self)
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(lambda: on_close(self))
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
        if level is Level.INFO and not self.buttons and not self.question:
            self._expiry.start(INFO_SHOWN_MS)
        else:
            self._expiry.stop()

    def restyle(self) -> None:
        self.setObjectName(f"banner_{self.level.value}")
        bg, fg = COLOURS[self.level][1 if palette_is_dark() else 0]
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background:{bg}; border:1px solid {fg}; border-radius:4px; }}"
            f"QLabel {{ color:{fg}; background:transparent; }}"
            f"QLabel#bannerTime {{ font-weight:bold; padding-right:6px; }}"
        )


class MessageArea(QWidget):
    """The banners, newest last. A few are shown (`limit`); the older ones fold into a count that shows them
    all. Above `max_height` they scroll: messages never squash the live view or the save queue."""

    MAX = 12  # older banners beyond this are dismissed
    MAX_HEIGHT = banners_height(SMALL_WINDOW_H - 1)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageArea")
        self.limit = banners_shown(SMALL_WINDOW_H - 1)
        self.max_height = self.MAX_HEIGHT
        self._inner = QWidget()
        self._inner.setObjectName("messageList")
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self._scroll = QScrollArea()
        self._scroll.setWidget(self._inner)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.fold_button = QToolButton()  # "▸ 3 earlier messages: show all"
        self.fold_button.setObjectName("messagesFold")
        self.fold_button.setCheckable(True)
        self.fold_button.setAutoRaise(True)
        self.fold_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fold_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.fold_button.toggled.connect(lambda _checked: self._refold())
        self.fold_button.setVisible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.fold_button, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addWidget(self._scroll)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.banners: list[Banner] = []
        self.setVisible(False)

    def fit_window(self, window_h: int) -> None:
        """The room the banners have in a window of this height (rules in widgets.window_layout)."""
        limit, max_height = banners_shown(window_h), banners_height(window_h)
        if (limit, max_height) != (self.limit, self.max_height):
            self.limit, self.max_height = limit, max_height
            self._refold()

    def shown(self) -> list[Banner]:
        """The banners in view (not folded away), oldest first."""
        return [b for b in self.banners if not b.isHidden()]

    def folded(self) -> int:
        return len(self.banners) - len(self.shown())

    def _refold(self) -> None:
        """Show every banner, or (folded) the newest and those awaiting an answer, up to `limit`."""
        if self.fold_button.isChecked():
            keep = set(range(len(self.banners)))
        else:
            # an error (a device failed, the torque could not be switched off) stays in view as an offer does
            claims = [QUESTION if b.question else OFFER if b.buttons or b.level is Level.ERROR else NOTICE
                      for b in self.banners]
            keep = set(shown_banners(claims, self.limit))
        for i, banner in enumerate(self.banners):
            banner.setVisible(i in keep)  # at once: the height below counts what is shown now
        hidden = len(self.banners) - len(keep)
        if self.fold_button.isChecked():
            self.fold_button.setText("▾ Show only the newest messages")
            self.fold_button.setVisible(len(self.banners) > self.limit)
        else:
            self.fold_button.setText(f"▸ {hidden} earlier message{'s' if hidden > 1 else ''}: show all")
            self.fold_button.setVisible(hidden > 0)
        self.setVisible(bool(self.banners))
        self._relayout()

    def _wanted_height(self) -> int:
        """The shown banners' height at the width they have (wrapped lines included), up to max_height."""
        width = self.width() if self.width() > 50 else 1000
        shown = self.shown()
        height = sum(b.heightForWidth(width) if b.hasHeightForWidth() else b.sizeHint().height() for b in shown)
        height += self._layout.spacing() * max(0, len(shown) - 1)
        if not self.fold_button.isHidden():
            height += self.fold_button.sizeHint().height()
        return min(max(0, height) + 2, self.max_height)

    def sizeHint(self) -> QSize:
        return QSize(self._inner.sizeHint().width(), self._wanted_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._wanted_height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._relayout()

    def _relayout(self) -> None:
        height = self._wanted_height()
        if self.height() != height or self.maximumHeight() != height:
            self.setFixedHeight(height)
        scrolls = height >= self.max_height  # a scroll bar only when the banners do not all fit
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if scrolls
                                                else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        shown = self.shown()
        if shown:
            self._scroll.ensureWidgetVisible(shown[-1])

    def show_message(self, text: str, level: Level = Level.ERROR,
                     actions: Actions | None = None,
                     topic: str | None = None, question: bool = False) -> Banner:
        """Show a banner; one on the same topic (by default: the same words) is replaced, not stacked.
        A question (the session waits for one of its buttons) stays in view before other older banners."""
        topic = topic or own_topic(text)
        for banner in self.banners:
            if banner.topic == topic and not actions and not banner.buttons:
                banner.said(text, level)
                self.banners.remove(banner)  # said again: the newest, last
                self.banners.append(banner)
                self._layout.removeWidget(banner)
                self._layout.addWidget(banner)
                self._refold()
                return banner
        self.clear(topic)
        banner = Banner(text, level, actions or [], self.dismiss, topic, question)
        self.banners.append(banner)
        self._layout.addWidget(banner)
        while len(self.banners) > self.MAX:
            self.dismiss(self.banners[0])
        self._refold()
        return banner

    def dismiss(self, banner: Banner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)
            self._layout.removeWidget(banner)
            banner.hide()
            banner.deleteLater()
        if len(self.banners) <= self.limit:
            self.fold_button.setChecked(False)
        self._refold()

    def clear(self, topic: str) -> None:
        """Take away the banners on a topic whose condition has ended."""
        for banner in [b for b in self.banners if b.topic == topic]:
            self.dismiss(banner)

    def clear_all(self, prefix: str) -> None:
        """Take away the banners on every topic that starts with `prefix` (e.g. all about the dataset open)."""
        for banner in [b for b in self.banners if b.topic.startswith(prefix)]:
            self.dismiss(banner)

    def topics(self) -> list[str]:
        return [b.topic for b in self.banners]

    def restyle(self) -> None:
        for banner in self.banners:
            banner.restyle()

    def texts(self) -> list[str]:
        return [b.text for b in self.banners]
