"""HW1 回归 / Regression: predicting COVID-19 positive rates, on a real regression table plus noise."""
from . import regression  # noqa: F401
