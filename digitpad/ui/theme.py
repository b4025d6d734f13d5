"""Colours from the palette: light and dark themes, readable charts, the app icon.

digitpad follows the system palette (Qt 6 picks the desktop's light or dark
scheme). Nothing in the UI hard-codes a text or background colour: labels use
the palette as it is; charts take their colours from :func:`chart_colors` (the
pyqtgraph plots through :func:`style_chart`, painted charts in ``paintEvent``)
and re-style themselves on ``PaletteChange``. The drawing canvas is the one
exception: it is paper (white, black ink) in every theme.

:func:`use_scheme` forces Fusion with a light or dark palette; the screenshot
script and the theme tests use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication


if TYPE_CHECKING:  # pragma: no cover
    import pyqtgraph as pg

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


@dataclass(frozen=True)
class ChartColors:
    """The colours of a chart in one palette: the frame, the plot area and what is drawn on them."""

    window: QColor  # around the plot: titles, tick labels and legends sit on it
    base: QColor  # the plot area
    text: QColor  # titles, tick labels, axis titles, legend text
    grid: QColor  # grid lines inside the plot area
    axis: QColor  # axis lines and the plot area's frame
    muted: QColor  # bars and marks that are not the point of interest
    highlight: QColor  # the one mark that is


def chart_colors(palette: QPalette | None = None) -> ChartColors:
    """Chart colours from the palette, so both themes read well (text on window is the palette's own pair)."""
    palette = palette if palette is not None else current_palette()
    window, base = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.WindowText)
    return ChartColors(window=window, base=base, text=text, grid=mix(text, base, 0.16), axis=mix(text, window, 0.55),
                       muted=mix(palette.color(QPalette.ColorRole.Text), base, 0.45),
                       highlight=palette.color(QPalette.ColorRole.Highlight))


def style_chart(plot: pg.PlotWidget, palette: QPalette | None = None) -> None:
    """Give a pyqtgraph plot the palette's colours: background, plot area, title, axes, grid, legend.

    Curve colours are left alone (their owners pick them, see :func:`series_colors`).
    Works on the plot's own methods, so this module does not import pyqtgraph.
    """
    colors = chart_colors(palette)
    plot.setBackground(QColor(colors.window))
    item = plot.getPlotItem()
    item.getViewBox().setBackgroundColor(QColor(colors.base))
    title = item.titleLabel
    font = QApplication.font() if QGuiApplication.instance() is not None else None
    size = {"size": f"{font.pointSizeF():g}pt"} if font is not None and font.pointSizeF() > 0 else {}
    title.setText(title.text, color=colors.text.name(), **size)  # the app's text size, not pyqtgraph's 11 pt
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(QColor(colors.axis))
        axis.setTextPen(QColor(colors.text))  # also the axis title's colour
        axis.setTickPen(QColor(colors.grid))  # ticks span the plot as grid lines, at this exact colour
        axis.setStyle(tickAlpha=255, maxTickLevel=0)  # major ticks only: a calm grid
    legend = item.legend
    if legend is not None:
        backing = QColor(colors.base)
        backing.setAlpha(220)  # curves behind the legend still show through a little
        legend.setBrush(backing)
        legend.setPen(None)
        legend.setLabelTextColor(QColor(colors.text))
        for _sample, label in legend.items:  # labels keep their old colour until re-rendered
            label.setText(label.text, color=colors.text.name())


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
