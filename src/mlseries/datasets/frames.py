"""Frame sequences from a hidden Markov model: a stand-in for framewise phoneme classification
(Lee's HW2: 41 phoneme classes, 39-d MFCC frames).

Each utterance walks through hidden "phoneme" states: a state lasts several frames (sticky
self-transitions) and then moves to one of a few likely successors (like phonotactics). Each
frame is the state's mean vector plus correlated noise and a per-utterance offset (like a
speaker). One frame alone is ambiguous; its neighbours help, which is what frame
concatenation, recurrent and bidirectional models exploit.
"""

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor


def concat_frames(frames, context):
    """(T, D) -> (T, (2·context+1)·D): each frame with `context` neighbours on both sides,
    edges repeated (HW2's frame concatenation)."""
    frames = np.asarray(frames)
    t = len(frames)
    idx = np.clip(np.arange(t)[:, None] + np.arange(-context, context + 1), 0, t - 1)  # (T, 2c+1)
    return frames[idx].reshape(t, -1)


class HMMFrames(Dataset):
    """Utterances of float32 frames (T, dim) with int64 labels (T,); item i is (frames, labels).

    The model (means, transitions) depends only on `seed`; "train" and "test" draw different
    utterances from it. `tensors(context)` stacks all frames for framewise classifiers.
    """

    def __init__(self, split="train", n_utterances=None, n_states=41, dim=39,
                 length=(50, 150), stay=0.85, successors=4, separation=0.33, noise=1.0,
                 noise_corr=0.3, speaker_std=0.3, seed=0):
        if split not in ("train", "test"):
            raise ValueError(f"HMMFrames: split must be 'train' or 'test', got {split!r}")
        if n_utterances is None:
            n_utterances = 400 if split == "train" else 100
        model = np.random.default_rng([seed, 0])
        self.means = model.normal(0.0, separation, size=(n_states, dim)).astype(np.float32)
        # each state mostly leaves to one of a few successors, with uneven odds; a tenth of the
        # time to any other state, so that no state becomes unreachable or vanishingly rare
        others = np.ones((n_states, n_states)) - np.eye(n_states)
        self.transitions = 0.1 * (1 - stay) * others / (n_states - 1)
        for s in range(n_states):
            nxt = model.choice(np.delete(np.arange(n_states), s), size=successors, replace=False)
            self.transitions[s, nxt] += 0.9 * (1 - stay) * model.dirichlet(np.ones(successors))
            self.transitions[s, s] = stay
        self.start = model.dirichlet(np.ones(n_states))
        rng = np.random.default_rng([seed, 1 if split == "train" else 2])
        cumulative = np.cumsum(self.transitions, axis=1)
        self.frames, self.labels = [], []
        for _ in range(n_utterances):
            t = int(rng.integers(length[0], length[1] + 1))
            states = np.empty(t, dtype=np.int64)
            states[0] = rng.choice(n_states, p=self.start)
            u = rng.random(t)
            for i in range(1, t):
                states[i] = min(np.searchsorted(cumulative[states[i - 1]], u[i]), n_states - 1)
            shocks = rng.normal(0.0, noise * np.sqrt(1 - noise_corr ** 2), size=(t, dim))
            shocks[0] /= np.sqrt(1 - noise_corr ** 2)  # start the noise in its stationary state
            for i in range(1, t):
                shocks[i] += noise_corr * shocks[i - 1]
            speaker = rng.normal(0.0, speaker_std, size=dim)
            self.frames.append((self.means[states] + shocks + speaker).astype(np.float32))
            self.labels.append(states)
        self.n_states, self.dim = n_states, dim

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return to_tensor(self.frames[i]), to_tensor(self.labels[i])

    def arrays(self, context=0):
        """All frames stacked: X float32 (ΣT, (2·context+1)·dim), y int64 (ΣT,)."""
        x = np.concatenate([concat_frames(f, context) for f in self.frames])
        return x, np.concatenate(self.labels)

    def tensors(self, context=0):
        x, y = self.arrays(context)
        return to_tensor(x), to_tensor(y)
