"""The session's buttons: views of the keymap's QActions, so a button, a key and a menu item are one thing.

Enabling follows the actions, which the controller sets from the session's transition table.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget

from widgets.keymap import KEYMAP, key_names

BUTTONS = ("record", "next", "rerecord", "reset", "stop")


class Controls(QWidget):
    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(8)
        bindings = {b.name: b for b in KEYMAP}
        self.buttons: dict[str, QToolButton] = {}
        for name in BUTTONS:
            button = QToolButton()
            button.setObjectName(f"button_{name}")
            keys = key_names(bindings[name])
            # buttons show the action's icon text (menus its text): put the keys under the word
            actions[name].setIconText(f"{bindings[name].text}\n{keys}" if keys else bindings[name].text)
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setIconSize(QSize(28, 28))
            button.setFixedHeight(50)  # the same in every phase and at every window size
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            layout.addWidget(button)
            self.buttons[name] = button
