"""Number fields that show what people type: ``0.001``, ``3e-05``, ``1e-30``.

:class:`FloatSpinBox` is a double spin box that accepts and shows scientific notation and
keeps every digit of a float (Qt's default rounds to two decimals, which would turn an
``epsilon`` of ``1e-7`` into zero). :class:`LearningRateSpinBox` is one for learning rates,
whose arrows step through the 1-3-10 ladder people actually try.
"""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

__all__ = ["FloatSpinBox", "LearningRateSpinBox", "ladder_step"]

# Qt's limit for decimals (DBL_MAX_10_EXP + DBL_DIG): no float is rounded by the box.
_ALL_DECIMALS = 323


class FloatSpinBox(QDoubleSpinBox):
    """A float field that accepts ``1e-3`` as well as ``0.001`` and shows ``{:.6g}``.

    The arrows add ``singleStep``; :meth:`set_step_for` picks one from a typical value
    (a tenth of its order of magnitude: 0.01 for 0.9, 1e-8 for 1e-7).
    """

    def __init__(self, parent: QWidget | None = None, *, digits: int = 6):
        super().__init__(parent)
        self._digits = digits
        self.setDecimals(_ALL_DECIMALS)
        self.setRange(-1e300, 1e300)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def set_step_for(self, typical: float) -> None:
        magnitude = abs(float(typical))
        if magnitude > 0 and math.isfinite(magnitude):
            self.setSingleStep(10.0 ** (math.floor(math.log10(magnitude)) - 1))
        else:
            self.setSingleStep(0.01)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return f"{value:.{self._digits}g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        if not stripped:
            return (QValidator.State.Intermediate, text, pos)
        try:
            value = float(stripped)
        except ValueError:
            partial = stripped.lower().lstrip("-+").rstrip("e-+.")
            ok = partial.replace(".", "", 1).replace("e", "", 1).isdigit() or partial == ""
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return (state, text, pos)
        if not math.isfinite(value):
            return (QValidator.State.Invalid, text, pos)
        if self.minimum() <= value <= self.maximum():
            return (QValidator.State.Acceptable, text, pos)
        return (QValidator.State.Intermediate, text, pos)


class LearningRateSpinBox(FloatSpinBox):
    """A learning rate field: shows ``0.001`` or ``3e-05`` as typed, and the arrows step
    through the 1-3-10 ladder people actually try (0.001, 0.003, 0.01, ...)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, digits=4)
        self._stand_in: str | None = None
        self.setDecimals(10)
        self.setRange(1e-8, 10.0)
        self.setAccelerated(False)

    def set_stand_in(self, text: str | None) -> None:
        """Show ``text`` instead of the number (e.g. "schedule" while a schedule sets the
        rate; the field is then disabled), or the number again with ``None``."""
        if text != self._stand_in:
            self._stand_in = text
            self.lineEdit().setText(self.textFromValue(self.value()))

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        stand_in = getattr(self, "_stand_in", None)  # Qt asks during __init__ already
        return stand_in if stand_in is not None else super().textFromValue(value)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        value = self.value()
        for _ in range(abs(steps)):
            value = ladder_step(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))


def ladder_step(value: float, up: bool) -> float:
    """The next value of 1, 3, 10, 30, ... x 10^k above (or below) ``value``."""
    exponent = math.floor(math.log10(value)) if value > 0 else -8
    ladder = sorted(m * 10.0**e for e in range(exponent - 1, exponent + 2) for m in (1, 3))
    if up:
        return next(v for v in ladder if v > value * (1 + 1e-9))
    return next(v for v in reversed(ladder) if v < value * (1 - 1e-9))
