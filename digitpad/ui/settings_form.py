"""The Train tab's settings form, made from the training-settings spec (``digitpad.ml.config``).

Each setting with ``gui=True`` gets one widget of its kind, with the spec's
range, default and help text, and the object name ``<camelCaseName><Kind>``
(``epochsSpin``, ``augmentCheck``, ``precisionCombo``). Reading the form gives
a ``TrainConfig``; ``values``/``set_values`` let the window remember it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from digitpad.ml.config import SETTINGS, Setting, TrainConfig
from digitpad.ml.precision import cpu_has_bf16

CHOICE_TEXTS = {"bfloat16": "bfloat16 (mixed)"}


def object_name(setting: Setting) -> str:
    head, *rest = setting.name.split("_")
    kind = "Check" if setting.kind is bool else "Combo" if setting.choices else "Spin"
    return head + "".join(word.capitalize() for word in rest) + kind


def auto_precision_text(policy: str | None = None) -> str:
    if policy is not None:
        return f"auto (last run: {'bfloat16' if 'bfloat16' in policy else 'float32'})"
    return "auto (bfloat16 here)" if cpu_has_bf16() else "auto (float32 here)"  # the tooltip says the rest


def _widget(setting: Setting) -> QWidget:
    if setting.kind is bool:
        widget: Any = QCheckBox(setting.help.split(" the ")[0].removeprefix("randomly "))
        widget.setChecked(bool(setting.default))
    elif setting.choices:
        widget = QComboBox()
        for choice in setting.choices:
            text = auto_precision_text() if choice == "auto" and setting.name == "precision" else choice
            widget.addItem(CHOICE_TEXTS.get(choice, text), choice)
        widget.setCurrentIndex(setting.choices.index(setting.default))
        # As wide as the other fields, not as its longest item, so the settings column leaves the
        # Runs table room; the choices are kept short enough to show whole.
        widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        widget.setMinimumContentsLength(21)
    elif setting.kind is int:
        widget = QSpinBox()
        low = int(setting.low) - (1 if setting.optional else 0)  # one below the range: "all"
        widget.setRange(low, int(setting.high))
        widget.setGroupSeparatorShown(setting.high >= 10_000)
        if setting.optional:
            widget.setSpecialValueText("all")
        widget.setValue(low if setting.default is None else int(setting.default))
    else:
        widget = QDoubleSpinBox()
        small = setting.name in ("learning_rate",)
        widget.setDecimals(6 if small else 2)
        widget.setRange(1e-6 if setting.low_open else float(setting.low), float(setting.high))
        widget.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        widget.setValue(float(setting.default))
    widget.setObjectName(object_name(setting))
    widget.setToolTip(setting.help[0].upper() + setting.help[1:])
    widget.setAccessibleName(setting.label.replace("&", ""))
    return widget


class SettingsForm(QGroupBox):
    """One labelled widget per GUI setting; ``config()`` reads them all."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        self.widgets: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for setting in SETTINGS:
            if setting.gui:
                widget = _widget(setting)
                self.widgets[setting.name] = widget
                form.addRow(setting.label, widget)  # "&": Alt+letter focuses the field

    def value(self, name: str) -> Any:
        widget: Any = self.widgets[name]
        setting = next(s for s in SETTINGS if s.name == name)
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if setting.optional and widget.value() == widget.minimum():
            return None
        return widget.value()

    def values(self) -> dict[str, Any]:
        return {name: self.value(name) for name in self.widgets}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show remembered values; unknown names and values the spec refuses are skipped."""
        for setting in SETTINGS:
            if setting.name not in self.widgets or setting.name not in values:
                continue
            value = values[setting.name]
            try:
                setting.check(value)
            except Exception:  # noqa: BLE001 - a damaged remembered value keeps the default
                continue
            widget: Any = self.widgets[setting.name]
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findData(value)))
            elif value is None:
                widget.setValue(widget.minimum())
            else:
                widget.setValue(value)

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig (not yet checked); settings without a widget keep their defaults."""
        return TrainConfig(**self.values())
