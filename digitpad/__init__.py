"""digitpad: draw a digit and see what a CNN trained on MNIST reads."""

__version__ = "0.1.0"
