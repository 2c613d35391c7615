"""Keras's progress bar, in plain ASCII:

    125/125 [==============================] - 0s 2ms/step - loss: 0.3021 - accuracy: 0.9137

ASCII rather than Keras 3's box-drawing bar because those characters are "ambiguous width":
Chinese-locale terminals draw them two columns wide and the bar breaks its line.
On a terminal the bar redraws in place (at most every 0.05 s); elsewhere (a log file, a
test) only the finished line is printed, so logs stay one line per epoch.
"""
import sys
import time

WIDTH = 30
INTERVAL = 0.05


def _format_time(seconds):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


def format_logs(logs):
    return "".join(f" - {key}: {value:.4f}" if isinstance(value, float) else f" - {key}: {value}"
                   for key, value in (logs or {}).items())


class Progbar:
    """Progress over `target` steps; verbose=1 draws the bar, verbose=2 prints one line at the end."""

    def __init__(self, target, verbose=1):
        self.target = target
        self.verbose = verbose
        self.seen = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self.dynamic = sys.stdout.isatty()

    def _bar(self, current):
        width = len(str(self.target))
        done = int(WIDTH * current / self.target) if self.target else WIDTH
        arrow = "" if done >= WIDTH else ">"
        bar = "=" * done + arrow + "." * (WIDTH - done - len(arrow))
        return f"{current:>{width}}/{self.target} [{bar}]"

    def update(self, current, logs=None, finalize=False):
        self.seen = current
        if self.verbose == 0:
            return
        now = time.perf_counter()
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        if finalize:
            if self.verbose == 1:
                line = f"{self._bar(current)} - {elapsed:.0f}s {_format_time(per_step)}/step"
            else:
                line = f"{current}/{self.target} - {elapsed:.0f}s - {_format_time(per_step)}/step"
            end = "\r" if self.dynamic else ""
            sys.stdout.write(end + line + format_logs(logs) + "\n")
            sys.stdout.flush()
            return
        if self.verbose != 1 or not self.dynamic or now - self._last_draw < INTERVAL:
            return
        self._last_draw = now
        eta = per_step * (self.target - current)
        sys.stdout.write(f"\r{self._bar(current)} - ETA: {_format_time(eta)}{format_logs(logs)}\033[K")
        sys.stdout.flush()
