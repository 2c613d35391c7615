"""Figure helpers the chapter's lessons share."""
import numpy as np


def legend_below(ax, ncol=2, **kwargs):
    """The legend under the axes, where it can never hide a curve."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False, **kwargs)


def moving_average(values, window):
    """(x, mean of the last `window` values) for a noisy per-step curve."""
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))
    return np.arange(window - 1, len(values)), np.convolve(values, np.ones(window) / window, mode="valid")
