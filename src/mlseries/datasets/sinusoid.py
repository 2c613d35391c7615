"""Sinusoid regression tasks, the toy problem of MAML (Finn et al., 2017): each task is
y = A·sin(x − φ) with its own amplitude A ∈ [0.1, 5] and phase φ ∈ [0, π], x ∈ [−5, 5].
A meta-learner sees a few points of a new task (the support set) and must fit the rest
(the query set)."""

from collections import namedtuple

import numpy as np

from ._convert import to_tensor

SinusoidBatch = namedtuple(
    "SinusoidBatch", "x_support y_support x_query y_query amplitude phase")


def sinusoid(x, amplitude, phase):
    return amplitude * np.sin(x - phase)


class SinusoidTasks:
    """A seeded stream of task batches: two objects with the same seed give the same batches."""

    def __init__(self, amplitude=(0.1, 5.0), phase=(0.0, np.pi), x_range=(-5.0, 5.0), seed=0):
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range
        self.generator = np.random.default_rng(seed)

    def sample(self, n_tasks, n_support=10, n_query=10):
        """A SinusoidBatch of float32 tensors: x/y (n_tasks, n_support or n_query, 1),
        amplitude and phase (n_tasks,)."""
        g = self.generator
        amp = g.uniform(*self.amplitude, size=n_tasks)
        phase = g.uniform(*self.phase, size=n_tasks)
        x = g.uniform(*self.x_range, size=(n_tasks, n_support + n_query, 1))
        y = sinusoid(x, amp[:, None, None], phase[:, None, None])
        f = lambda a: to_tensor(a, np.float32)  # noqa: E731
        return SinusoidBatch(f(x[:, :n_support]), f(y[:, :n_support]),
                             f(x[:, n_support:]), f(y[:, n_support:]), f(amp), f(phase))
