"""Frame labels for the spoken digits: a forced alignment (强制对齐) computed from the audio.

HW2's labels came from a forced alignment of LibriSpeech: a speech recogniser, told the words,
decided which phoneme each 10 ms frame belongs to. Here the words are known too (each clip is one
digit), so each clip's phoneme sequence is known from a pronouncing dictionary, and only the
boundaries are unknown. They are found the way a recogniser's aligner finds them, by segmental
k-means with Viterbi decoding:

1. flat start: the frames louder than the clip's midpoint energy are speech; spread the word's
   phonemes evenly over them, the rest is silence (sil);
2. fit one diagonal Gaussian per unit to the frames so labelled, over all clips — a unit is a
   phoneme in one word (the R of "zero" and the R of "four" are two units, as a recogniser's
   context-dependent models are), plus one unit for silence;
3. re-label every clip by Viterbi: the best path through sil → p₁ → … → p_k → sil, each
   phoneme held for at least three frames (three left-to-right states sharing its Gaussian, as
   a recogniser's three-state phoneme models), scored by the Gaussians; repeat 2–3 a few times.
"""
import numpy as np

# ARPAbet, as the CMU pronouncing dictionary has each digit (one pronunciation per word: accents
# that drop the r of "four" are still aligned to it).
PRONUNCIATIONS = {
    "zero": ("Z", "IH", "R", "OW"), "one": ("W", "AH", "N"), "two": ("T", "UW"),
    "three": ("TH", "R", "IY"), "four": ("F", "AO", "R"), "five": ("F", "AY", "V"),
    "six": ("S", "IH", "K", "S"), "seven": ("S", "EH", "V", "AH", "N"), "eight": ("EY", "T"),
    "nine": ("N", "AY", "N"),
}
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PHONEMES = ("sil",) + tuple(sorted({p for w in WORDS for p in PRONUNCIATIONS[w]}))   # 20 classes
INDEX = {p: i for i, p in enumerate(PHONEMES)}


MIN_FRAMES = 3     # each phoneme is 3 left-to-right states sharing one Gaussian: at least 30 ms


def state_sequence(digit, min_frames=1):
    """Class ids of the alignment's states for `digit`: sil, its phonemes (each repeated
    `min_frames` times, so a path spends at least that many frames in it), sil."""
    phones = [INDEX[p] for p in PRONUNCIATIONS[WORDS[digit]] for _ in range(min_frames)]
    return np.array([0] + phones + [0])


def flat_start(energy, digit):
    """(T,) labels: the word's phonemes spread evenly over the frames louder than the midpoint
    between the clip's quietest and loudest frame (its first and last such frame)."""
    lo, hi = np.percentile(energy, 5), np.percentile(energy, 99)
    loud = np.flatnonzero(energy > (lo + hi) / 2)
    if len(loud) == 0:                       # a flat clip: all of it
        loud = np.arange(len(energy))
    labels = np.zeros(len(energy), dtype=np.int64)
    phones = state_sequence(digit)[1:-1]
    start, end = loud[0], loud[-1] + 1
    if end - start < len(phones):
        end = min(len(energy), start + len(phones))
        start = end - len(phones)
    cut = np.linspace(start, end, len(phones) + 1).round().astype(int)
    for k, p in enumerate(phones):
        labels[cut[k]:cut[k + 1]] = p
    return labels


def fit_gaussians(x, labels, n_classes=len(PHONEMES), floor=1e-2):
    """Per-class mean and variance (diagonal) of frames x (F, D) labelled `labels` (F,)."""
    mean = np.zeros((n_classes, x.shape[1]))
    var = np.ones((n_classes, x.shape[1]))
    for c in range(n_classes):
        rows = x[labels == c]
        if len(rows) > 1:
            mean[c], var[c] = rows.mean(axis=0), rows.var(axis=0) + floor
    return mean, var


def log_likelihood(x, mean, var):
    """log N(x_t; μ_c, diag σ²_c) for frames x (..., D): (..., C)."""
    diff = x[..., None, :] - mean                                            # (..., C, D)
    return -0.5 * (np.sum(diff ** 2 / var + np.log(2 * np.pi * var), axis=-1))


def viterbi(scores):
    """Best left-to-right path for a batch of clips with the same states.

    scores (B, T, S): log-likelihood of frame t in state s. The path starts in state 0 or 1
    (leading silence may be empty), moves on by at most one state per frame and ends in state
    S-1 or S-2. Returns the state index of every frame, (B, T)."""
    b, t_len, s = scores.shape
    best = np.full((b, s), -np.inf)
    best[:, :2] = scores[:, 0, :2]
    came_from_previous = np.zeros((b, t_len, s), dtype=bool)
    for t in range(1, t_len):
        stay, advance = best, np.concatenate([np.full((b, 1), -np.inf), best[:, :-1]], axis=1)
        came_from_previous[:, t] = advance > stay
        best = np.maximum(stay, advance) + scores[:, t]
    state = np.where(best[:, -1] >= best[:, -2], s - 1, s - 2)
    path = np.zeros((b, t_len), dtype=np.int64)
    for t in range(t_len - 1, -1, -1):
        path[:, t] = state
        state = state - came_from_previous[np.arange(b), t, state]
    return path


def units(digit, min_frames=1):
    """The alignment model's unit ids for `digit`'s states: 0 for silence, and one unit per
    (word, position) — the R of "zero" is not the R of "four", as a recogniser's context-dependent
    units are not — so no Gaussian has to stretch over a phoneme's every context."""
    n = len(PRONUNCIATIONS[WORDS[digit]])
    inner = [1 + 5 * digit + k for k in range(n) for _ in range(min_frames)]
    return np.array([0] + inner + [0])


N_UNITS = 1 + 5 * len(WORDS)


def align(features, digits, iterations=4):
    """Frame labels (N, T) for clips `features` (N, T, D) (standardised MFCC + Δ + ΔΔ, the
    first column the log energy c₀) saying `digits` (N,). Returns the phoneme labels and the
    unit labels (which word's phoneme each frame is)."""
    unit_of_class = {}
    for d in range(len(WORDS)):
        unit_of_class.update(zip(units(d), state_sequence(d)))
    unit_to_class = np.array([unit_of_class.get(u, 0) for u in range(N_UNITS)])
    # flat start, in units
    unit_labels = np.zeros(features.shape[:2], dtype=np.int64)
    for i, (f, d) in enumerate(zip(features, digits)):
        flat = flat_start(f[:, 0], d)
        position = np.cumsum(np.r_[0, np.diff(flat) != 0])          # which segment each frame is in
        seq = units(d)
        first = 1 if flat[0] == 0 else 0
        unit_labels[i] = seq[np.minimum(position + (1 - first), len(seq) - 1)]
    for _ in range(iterations):
        mean, var = fit_gaussians(features.reshape(-1, features.shape[-1]), unit_labels.reshape(-1), N_UNITS)
        for digit in np.unique(digits):
            rows = np.flatnonzero(digits == digit)
            states = units(digit, MIN_FRAMES)
            scores = log_likelihood(features[rows], mean[states], var[states])    # (B, T, S)
            unit_labels[rows] = states[viterbi(scores)]
    return unit_to_class[unit_labels], unit_labels
