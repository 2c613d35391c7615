"""Daily views of a video channel, the running example of Hung-yi Lee's first lecture.

Views (in thousands) follow a rising trend, a yearly swing and a weekly rhythm (fewer on
Friday and Saturday), plus bursts when a video comes out that fade over days, and noise. The
task: predict tomorrow's views from the previous k days, trained on the earlier days and
tested on the later ones, never the other way round.
"""

import numpy as np

from ._convert import to_tensor

# Monday .. Sunday: people watch less on Friday and Saturday evenings
WEEKLY = np.array([1.00, 1.03, 1.02, 0.98, 0.80, 0.74, 0.95])


class ChannelViews:
    """`days` of views from `start`; the last `test_days` are the test period.

    .dates (datetime64[D]), .views (float32 NumPy, thousands); `windows(k, split)` gives the
    features and targets as tensors.
    """

    def __init__(self, days=1096, start="2018-01-01", test_days=365, seed=0):
        if not 0 < test_days < days:
            raise ValueError(f"ChannelViews: test_days must be in 1..{days - 1}, got {test_days}")
        rng = np.random.default_rng(seed)
        self.dates = np.datetime64(start, "D") + np.arange(days)
        self.test_days = test_days
        t = np.arange(days) / 365.25
        weekday = (self.dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        level = (3.0 + 0.6 * t) * (1 + 0.08 * np.sin(2 * np.pi * (t - 0.1)))
        # a new video now and then: a burst that loses 40 % per day; and noise that lingers
        kicks = (rng.random(days) < 0.05) * rng.exponential(1.5, days)
        shocks = rng.normal(0.0, 0.15, days)
        burst, noise = np.zeros(days), np.zeros(days)
        for i in range(days):
            burst[i] = kicks[i] + 0.6 * burst[i - 1] * (i > 0)
            noise[i] = shocks[i] + 0.5 * noise[i - 1] * (i > 0)
        views = level * WEEKLY[weekday] + burst + noise
        self.views = np.maximum(views, 0.05).astype(np.float32)

    def __len__(self):
        return len(self.views)

    def series(self):
        return to_tensor(self.views)

    def windows(self, k=7, split="train"):
        """X (N, k): the k days before each target day, oldest first; y (N,): that day's views.

        Train targets are the days before the test period (from day k on); test targets are
        the test period's days, whose windows may reach back into the training days.
        """
        if split not in ("train", "test", "all"):
            raise ValueError(f"windows: split must be 'train', 'test' or 'all', got {split!r}")
        n = len(self.views)
        if not 1 <= k < n - self.test_days:
            raise ValueError(f"windows: k must be in 1..{n - self.test_days - 1}, got {k}")
        first_test = n - self.test_days
        targets = {"train": np.arange(k, first_test), "test": np.arange(first_test, n),
                   "all": np.arange(k, n)}[split]
        x = self.views[targets[:, None] - k + np.arange(k)]  # (N, k)
        return to_tensor(x), to_tensor(self.views[targets])
