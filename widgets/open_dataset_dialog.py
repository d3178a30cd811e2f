"""File > Open: what the dataset holds, whether the station can add to it as connected, before anything closes.

An incompatible dataset is described and cannot be opened (the working session stays); when only camera names
differ, the dialog maps the dataset's camera names onto the connected cameras.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from widgets.dataset_summary import DatasetSummary, Verdict, summary_lines


class OpenDatasetDialog(QDialog):
    def __init__(self, summary: DatasetSummary, verdict: Verdict, connected_cameras: list[str],
                 mapping_problem: Callable[[dict[str, str]], str | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mapping_problem = mapping_problem
        self.setObjectName("openDatasetDialog")
        self.setWindowTitle(f"Open {summary.repo_id}?")
        self.summary = summary
        self.verdict = verdict
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for label, value in summary_lines(summary):
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", text)
            self.values[label] = text
        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("openVerdict")
        self.verdict_label.setWordWrap(True)
        self.mapping_boxes: dict[str, QComboBox] = {}
        mapping_form = QFormLayout()
        dataset_names = [c.name for c in summary.spec.cameras]
        if verdict.problem is None:
            self.verdict_label.setText("This station can add episodes to it as connected.")
        elif verdict.mapping is not None:
            self.verdict_label.setText(
                f"Only the camera names differ ({verdict.problem}). Record each connected camera under one of "
                "the dataset's camera names:")
            for name in connected_cameras:
                box = QComboBox()
                box.addItems(dataset_names)
                box.setCurrentText(verdict.mapping[name])
                box.currentTextChanged.connect(self._check)
                mapping_form.addRow(f"connected {name} records as", box)
                self.mapping_boxes[name] = box
        else:
            listed = "".join(f"<li>{d}</li>" for d in verdict.differences) or f"<li>{verdict.problem}</li>"
            self.verdict_label.setText(
                f"This station cannot add episodes to it as connected:<ul>{listed}</ul>"
                "Your current dataset stays open.")
            self.verdict_label.setStyleSheet("font-weight:bold;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict_label)
        layout.addLayout(mapping_form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self._check()

    def mapping(self) -> dict[str, str] | None:
        """Connected camera name -> the dataset's name for it, when the dialog maps them."""
        if not self.mapping_boxes:
            return None
        return {name: box.currentText() for name, box in self.mapping_boxes.items()}

    def _check(self, *_args) -> None:
        if self.verdict.problem is None:
            ok = True
        elif self.mapping_boxes:
            mapping = self.mapping() or {}
            chosen = list(mapping.values())
            ok = len(set(chosen)) == len(chosen) and (self.mapping_problem is None
                                                       or self.mapping_problem(mapping) is None)
        else:
            ok = False
        self.open_button.setEnabled(ok)
