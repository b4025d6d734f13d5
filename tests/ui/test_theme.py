"""Light and dark themes: readable labels and charts, paper canvas, the icon."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from digitpad.contracts import from_probabilities
from digitpad.ui.images import qimage_to_gray
from digitpad.ui.main_window import MainWindow
from digitpad.ui.training_charts import TRAIN_LOSS, MetricChart
from digitpad.ui.theme import (app_icon, blend, chart_colors, contrast_ratio, dark_palette, is_dark,
                               relative_luminance, use_scheme)
from tests.ui.conftest import FakePredictor

AA = 4.5  # WCAG AA contrast for text


@pytest.fixture
def restore_look(qapp: QApplication) -> Iterator[None]:
    """Put the application's style and palette back after a test switched them."""
    style, palette = qapp.style().name(), QPalette(qapp.palette())
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    hints = qapp.styleHints()
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    qapp.processEvents()


@pytest.fixture
def window(show, fake_predictor: FakePredictor, settings: QSettings, restore_look: None) -> MainWindow:
    return show(MainWindow(predictor=fake_predictor, settings=settings))


def _charts(window: MainWindow) -> dict[str, MetricChart]:
    return {name: window.findChild(QWidget, name) for name in ("lossChart", "accuracyChart")}


def _chart_texts(chart: MetricChart) -> dict[str, QColor]:
    """Every text colour a pyqtgraph chart paints with: title, tick labels, axis titles, legend."""
    plot = chart.plot.getPlotItem()
    texts = {"title": QColor(plot.titleLabel.opts["color"]), "legend": QColor(plot.legend.labelTextColor())}
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        texts[f"{name} ticks"] = axis.textPen().color()
        texts[f"{name} title"] = QColor(axis.labelStyle["color"])
    texts.update({f"legend {label.text}": QColor(label.opts["color"]) for _, label in plot.legend.items})
    return texts


def _show_reading(window: MainWindow) -> None:
    probabilities = np.full(10, 0.02, np.float32)
    probabilities[3] = 0.82
    window.draw_tab.show_prediction(from_probabilities(probabilities, np.zeros((28, 28), np.float32)))


def _label_contrast(label: QWidget) -> float:
    """Contrast of the label's text colour on the colour it is painted over."""
    palette = label.palette()
    return contrast_ratio(palette.color(label.foregroundRole()), palette.color(label.backgroundRole()))


def _rendered_contrast(widget: QWidget) -> float:
    """On screen: contrast between the most common colour (background) and the strongest other one."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    rgb = pixels[:, :image.width(), 2::-1].reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    background = QColor(*map(int, colours[np.argmax(counts)]))
    return max(contrast_ratio(QColor(*map(int, c)), background) for c in colours)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_result_labels_read_well(qapp, window: MainWindow, scheme: str) -> None:
    use_scheme(qapp, scheme)
    assert is_dark(qapp.palette()) == (scheme == "dark")
    _show_reading(window)
    for label in (window.draw_tab.predictionLabel, window.draw_tab.confidenceLabel):
        assert _label_contrast(label) >= AA, label.objectName()
        assert _rendered_contrast(label) >= AA, label.objectName()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chart_text_contrasts_with_the_chart_background(qapp, window: MainWindow, scheme: str) -> None:
    use_scheme(qapp, scheme)
    for name, chart in _charts(window).items():
        background = chart.plot.backgroundBrush().color()
        plot_area = chart.plot.getPlotItem().getViewBox().background.brush().color()
        assert is_dark() == (relative_luminance(background) < 0.2), f"{name} did not follow the palette"
        assert is_dark() == (relative_luminance(plot_area) < 0.2), f"{name}'s plot area did not follow the palette"
        for what, colour in _chart_texts(chart).items():
            for ground in (background, plot_area):  # the legend sits on the plot area, the rest beside it
                assert contrast_ratio(colour, ground) >= AA, f"{name} {what}: {colour.name()} on {ground.name()}"
    bars = window.draw_tab.probabilityChart
    colors = chart_colors(bars.palette())
    assert contrast_ratio(colors.text, colors.window) >= AA
    _show_reading(window)
    image = bars.grab().toImage()
    labels = bars.plot_rect().bottom() + 3  # the digit labels under the bars, painted on the window colour
    assert image.pixelColor(2, image.height() - 2).name() == colors.window.name()
    strip = bars.grab(bars.rect().adjusted(0, int(labels), 0, 0))
    assert _rendered_contrast_with(strip, colors.window) >= AA


def _rendered_contrast_with(widget_or_pixmap, background: QColor) -> float:
    """On screen: the strongest contrast any painted pixel makes with ``background``."""
    image = widget_or_pixmap.toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    colours = np.unique(pixels[:, :image.width(), 2::-1].reshape(-1, 3), axis=0)
    return max(contrast_ratio(QColor(*map(int, c)), background) for c in colours)


def _pixels_of(widget: QWidget, colour: QColor) -> int:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    bgr = np.array([colour.blue(), colour.green(), colour.red()], np.uint8)
    return int(np.count_nonzero((pixels[:, :image.width(), :3] == bgr).all(axis=2)))


def test_charts_restyle_when_the_palette_changes(qapp, window: MainWindow) -> None:
    """Switching light -> dark at run time re-styles charts built in the light theme."""
    use_scheme(qapp, "light")
    _show_reading(window)
    bars = window.draw_tab.probabilityChart
    light_top = qapp.palette().color(QPalette.ColorRole.Highlight)
    assert _pixels_of(bars, light_top) > 100  # the top bar, in the highlight colour
    before = {name: chart.plot.backgroundBrush().color() for name, chart in _charts(window).items()}
    assert all(relative_luminance(colour) > 0.5 for colour in before.values())
    light_text = {name: _chart_texts(chart) for name, chart in _charts(window).items()}
    use_scheme(qapp, "dark")
    text = qapp.palette().color(QPalette.ColorRole.WindowText)
    for name, chart in _charts(window).items():
        assert relative_luminance(chart.plot.backgroundBrush().color()) < 0.2, name
        assert relative_luminance(chart.plot.getPlotItem().getViewBox().background.brush().color()) < 0.2, name
        texts = _chart_texts(chart)
        assert all(colour.name() == text.name() for colour in texts.values()), (name, texts)
        assert all(texts[what] != light_text[name][what] for what in texts), name
        shot = chart.grab().toImage()  # and the screen shows it: the corner is the dark window colour
        assert shot.pixelColor(1, 1).name() == qapp.palette().color(QPalette.ColorRole.Window).name(), name
    dark_top = qapp.palette().color(QPalette.ColorRole.Highlight)
    assert dark_top != light_top
    assert _pixels_of(bars, dark_top) > 100 and _pixels_of(bars, light_top) == 0  # the bar was repainted
    base = qapp.palette().color(QPalette.ColorRole.Base)
    line = window.train_tab.charts.loss.series(TRAIN_LOSS).item.opts["pen"].color()
    assert contrast_ratio(line, base) >= 3.0  # graphics: 3:1
    use_scheme(qapp, "light")
    assert relative_luminance(_charts(window)["lossChart"].plot.backgroundBrush().color()) > 0.5


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_error_text_and_confusion_counts_read_well(qapp, window: MainWindow, scheme: str) -> None:
    use_scheme(qapp, scheme)
    error = window.train_tab.error_label
    assert _label_contrast(error) >= AA
    matrix = window.train_tab.evaluation.matrix
    confusion = np.diag(np.full(10, 980)) + np.eye(10, k=1, dtype=np.int64) * 25 + np.eye(10, k=-1, dtype=np.int64)
    matrix.set_confusion(confusion)
    base = qapp.palette().color(QPalette.ColorRole.Base)
    shaded = 0
    for row in range(10):
        for column in range(10):
            item = matrix.item(row, column)
            if item.background().style() == item.background().style().NoBrush:
                continue
            shaded += 1
            ground = blend(item.background().color(), base)
            assert contrast_ratio(item.foreground().color(), ground) >= AA, (row, column, scheme)
    assert shaded == 10 + 9 + 9  # the diagonal and the two neighbouring diagonals


def test_canvas_stays_paper_in_the_dark(qapp, window: MainWindow) -> None:
    use_scheme(qapp, "dark")
    canvas = window.draw_tab.canvas
    canvas.set_hint_enabled(False)
    assert int(qimage_to_gray(canvas.grab().toImage())[2:-2, 2:-2].min()) == 255  # white paper (inside the edge)
    assert int(canvas.to_array().min()) == 255


def test_dark_palette_is_dark_and_readable() -> None:
    palette = dark_palette()
    assert is_dark(palette)
    for text, ground in ((QPalette.ColorRole.WindowText, QPalette.ColorRole.Window),
                         (QPalette.ColorRole.Text, QPalette.ColorRole.Base),
                         (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Button),
                         (QPalette.ColorRole.HighlightedText, QPalette.ColorRole.Highlight)):
        assert contrast_ratio(palette.color(text), palette.color(ground)) >= AA, text


def test_window_uses_the_svg_icon(window: MainWindow) -> None:
    icon = window.windowIcon()
    assert not icon.isNull() and not app_icon().isNull()
    image = icon.pixmap(64, 64).toImage()
    assert image.width() == 64
    opaque = sum(image.pixelColor(x, y).alpha() > 200 for x in range(0, 64, 4) for y in range(0, 64, 4))
    assert opaque > 20  # the SVG was rendered, not an empty placeholder
