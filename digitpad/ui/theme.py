"""Colours from the palette: light and dark themes, readable charts, the app icon.

digitpad follows the system palette (Qt 6 picks the desktop's light or dark
scheme). Nothing in the UI hard-codes a text or background colour: labels use
the palette as it is, and charts, which QtCharts paints with its own theme,
take their background, label, grid and series colours from the palette via
:func:`style_chart` and re-style themselves on ``PaletteChange``. The drawing
canvas is the one exception: it is paper (white, black ink) in every theme.

:func:`use_scheme` forces Fusion with a light or dark palette; the screenshot
script and the theme tests use it.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCharts import QChart
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon, QPalette, QPen
from PySide6.QtWidgets import QApplication

from digitpad.ui import qtfix  # noqa: F401  - must precede any emit (PySide6 6.12 refcount bug)

Scheme = Literal["light", "dark"]
PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
MIN_TEXT_CONTRAST = 4.5  # WCAG AA for normal text

# Categorical hues for the two training curves (palette roles offer only one accent),
# each in a variant for light and one for dark backgrounds.
_SERIES = {"light": (QColor("#1f6fb4"), QColor("#c75a00")), "dark": (QColor("#6cb4f0"), QColor("#ffa24d"))}
_ERROR = {"light": QColor("#b00020"), "dark": QColor("#ff8a80")}


def is_palette_change(event: QEvent) -> bool:
    """True for the events that mean "the colours changed": re-style on these."""
    return event.type() in PALETTE_EVENTS


def current_palette() -> QPalette:
    """The application palette (a default one when there is no QGuiApplication yet)."""
    return QGuiApplication.palette() if QGuiApplication.instance() is not None else QPalette()


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(color: QColor) -> float:
    """WCAG relative luminance of an opaque colour (0 black .. 1 white)."""
    rgb = color.toRgb()
    return 0.2126 * _channel(rgb.redF()) + 0.7152 * _channel(rgb.greenF()) + 0.0722 * _channel(rgb.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio between two opaque colours, 1..21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def blend(top: QColor, bottom: QColor) -> QColor:
    """``top`` (with its alpha) painted over the opaque ``bottom``."""
    alpha = top.alphaF()
    t, b = top.toRgb(), bottom.toRgb()
    return QColor.fromRgbF(t.redF() * alpha + b.redF() * (1 - alpha), t.greenF() * alpha + b.greenF() * (1 - alpha),
                           t.blueF() * alpha + b.blueF() * (1 - alpha))


def mix(a: QColor, b: QColor, share_of_a: float) -> QColor:
    """An opaque colour ``share_of_a`` of the way from ``b`` to ``a``."""
    top = QColor(a)
    top.setAlphaF(max(0.0, min(1.0, share_of_a)))
    return blend(top, b)


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the palette puts light text on a dark window."""
    palette = palette if palette is not None else current_palette()
    return (relative_luminance(palette.color(QPalette.ColorRole.Window))
            < relative_luminance(palette.color(QPalette.ColorRole.WindowText)))


def scheme_of(palette: QPalette | None = None) -> Scheme:
    return "dark" if is_dark(palette) else "light"


def readable_text(background: QColor, palette: QPalette | None = None) -> QColor:
    """The palette's text colour if it reads well on ``background``, else black or white."""
    palette = palette if palette is not None else current_palette()
    text = palette.color(QPalette.ColorRole.Text)
    if contrast_ratio(text, background) >= MIN_TEXT_CONTRAST:
        return text
    black, white = QColor(Qt.GlobalColor.black), QColor(Qt.GlobalColor.white)
    return black if contrast_ratio(black, background) >= contrast_ratio(white, background) else white


def series_colors(palette: QPalette | None = None) -> tuple[QColor, QColor]:
    """Two distinct line colours (training, validation) that stand out on the palette's base."""
    first, second = _SERIES[scheme_of(palette)]
    return QColor(first), QColor(second)


def error_color(palette: QPalette | None = None) -> QColor:
    """A red that reads as an error and keeps 4.5:1 contrast on the palette's window."""
    return QColor(_ERROR[scheme_of(palette)])


def style_chart(chart: QChart, palette: QPalette | None = None) -> None:
    """Give a QtCharts chart the palette's colours: background, titles, labels, grid, legend.

    Series colours are left alone (their owners pick them, see :func:`series_colors`).
    """
    palette = palette if palette is not None else current_palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    chart.setBackgroundBrush(QBrush(window))
    chart.setBackgroundPen(QPen(Qt.PenStyle.NoPen))
    chart.setPlotAreaBackgroundBrush(QBrush(palette.color(QPalette.ColorRole.Base)))
    chart.setPlotAreaBackgroundVisible(True)
    chart.setTitleBrush(QBrush(text))
    chart.legend().setLabelColor(text)
    grid, line = mix(text, window, 0.18), mix(text, window, 0.55)
    for axis in chart.axes():
        axis.setLabelsBrush(QBrush(text))
        axis.setTitleBrush(QBrush(text))
        axis.setGridLineColor(grid)
        axis.setLinePenColor(line)


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style (used when the platform cannot switch schemes)."""
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(235, 235, 235)
    disabled = QColor(128, 128, 128)
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: QColor(40, 40, 43),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150), QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(55, 55, 58), QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 110, 110), QPalette.ColorRole.Light: QColor(75, 75, 78),
        QPalette.ColorRole.Midlight: QColor(62, 62, 65), QPalette.ColorRole.Mid: QColor(40, 40, 42),
        QPalette.ColorRole.Dark: QColor(25, 25, 26), QPalette.ColorRole.Shadow: QColor(0, 0, 0),
        QPalette.ColorRole.Highlight: QColor(30, 111, 192), QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(110, 180, 255), QPalette.ColorRole.LinkVisited: QColor(190, 150, 255),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def use_scheme(app: QApplication, scheme: Scheme) -> None:
    """Switch to Fusion with a light or dark palette.

    Asks the platform through ``QStyleHints.setColorScheme`` (Qt >= 6.8) first;
    platforms that ignore it (offscreen, plain X11) get Fusion's standard
    palette or :func:`dark_palette` set by hand.
    """
    app.setStyle("Fusion")
    wanted = Qt.ColorScheme.Dark if scheme == "dark" else Qt.ColorScheme.Light
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(wanted)
        app.processEvents()
    style = app.style()
    palette = dark_palette() if scheme == "dark" else style.standardPalette()
    if hints.colorScheme() == wanted and scheme_of(style.standardPalette()) == scheme:
        palette = style.standardPalette()  # the platform switched; use its palette
    app.setPalette(palette)
    app.processEvents()


def app_icon() -> QIcon:
    """digitpad's icon (``resources/digitpad.svg``, drawn by Qt's SVG image plugin); empty if missing."""
    from digitpad.resources import ICON_FILE, resource

    try:
        path = resource(ICON_FILE)
    except FileNotFoundError:
        return QIcon()
    return QIcon(str(path)) if path.is_file() else QIcon()
