"""The card said over a view whose picture has stopped: a dark veil and, in amber, a headline and the reason."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

VEIL = QColor(0, 0, 0, 170)
AMBER = QColor(255, 200, 80)


def paint_no_signal(p: QPainter, rect: QRectF, font: QFont, point_size: float, headline: str, reason: str,
                    veil: bool = True) -> None:
    """`headline` and `reason` centred in `rect` (wrapped), in bold `font` at `point_size`, over a veil."""
    if veil:
        p.fillRect(rect, VEIL)
    p.setPen(AMBER)
    bold = QFont(font)
    bold.setPointSizeF(point_size)
    bold.setBold(True)
    p.setFont(bold)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, f"{headline}\n{reason}")
