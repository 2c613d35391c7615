"""Sound as numbers: reading WAV bytes, resampling, and the features speech models take —
power spectrogram, mel filterbank, log-mel energies, MFCCs and their deltas — in NumPy.

The definitions follow librosa's defaults (Hann window, frames centred with zero padding,
Slaney's mel scale and filter normalisation, decibels with an 80 dB floor, orthonormal DCT-II),
and the tests compare every function with librosa, so numbers here mean what they mean there.

    power = power_spectrogram(y, n_fft=512, hop_length=80, win_length=200)   # (257, frames)
    logmel = log_mel(y, sr=8000, n_mels=40)                                  # (40, frames) dB
    coeffs = mfcc(y, sr=8000, n_mfcc=13)                                     # (13, frames)
"""

import io
import struct

import numpy as np

from .errors import CorruptFileError


# ---------------------------------------------------------------- WAV

def parse_wav(raw, name="<wav>"):
    """16-bit PCM WAV bytes -> (float32 samples in [-1, 1), sample rate). A data chunk whose
    length field is larger than the bytes present (programs that write to a pipe cannot go back
    to fill it in) is read to the end of the bytes."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise CorruptFileError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        chunk, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        body = raw[pos + 8:pos + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                raise CorruptFileError(f"{name}: truncated fmt chunk")
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk == b"data":
            data = body
            break
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise CorruptFileError(f"{name}: no {'fmt' if fmt is None else 'data'} chunk")
    audio_format, channels, rate, _, _, bits = fmt
    if audio_format != 1 or bits != 16:
        raise CorruptFileError(f"{name}: format {audio_format} with {bits} bits; expected 16-bit PCM")
    samples = np.frombuffer(data[:len(data) // (2 * channels) * 2 * channels], dtype="<i2")
    samples = samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples
    return samples.astype(np.float32) / 32768.0, rate


def read_wav(path):
    with open(path, "rb") as f:
        return parse_wav(f.read(), name=str(path))


def write_wav(target, samples, rate):
    """float samples in [-1, 1] -> 16-bit PCM WAV, to a path or a binary file object."""
    pcm = np.clip(np.rint(np.asarray(samples) * 32767), -32768, 32767).astype("<i2").tobytes()
    header = (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
              + b"data" + struct.pack("<I", len(pcm)))
    if isinstance(target, io.IOBase):
        target.write(header + pcm)
    else:
        with open(target, "wb") as f:
            f.write(header + pcm)


def resample(y, rate, new_rate):
    """Polyphase resampling (scipy's resample_poly: a Kaiser-windowed low-pass, no aliasing)."""
    if rate == new_rate:
        return np.asarray(y, dtype=np.float32)
    from scipy.signal import resample_poly  # imported on use: scipy.signal is slow to import

    g = np.gcd(int(rate), int(new_rate))
    return resample_poly(y, new_rate // g, rate // g).astype(np.float32)


def trim_silence(y, threshold_db=-40.0, frame=256):
    """`y` without its leading and trailing frames quieter than `threshold_db` below the peak."""
    if len(y) == 0:
        return y
    n = int(np.ceil(len(y) / frame))
    padded = np.pad(y, (0, n * frame - len(y)))
    energy = np.sqrt((padded.reshape(n, frame) ** 2).mean(axis=1))
    loud = np.flatnonzero(energy > energy.max() * 10 ** (threshold_db / 20))
    if len(loud) == 0:
        return y[:0]
    return y[loud[0] * frame:min(len(y), (loud[-1] + 1) * frame)]


# ---------------------------------------------------------------- spectrogram

def hann(length):
    """The periodic Hann window (what spectral analysis uses: scipy's `fftbins=True`)."""
    n = np.arange(length)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / length)


def frames(y, n_fft, hop_length, center=True):
    """(frames, n_fft) overlapping frames; `center` pads n_fft // 2 zeros on both sides so
    frame t is centred on sample t · hop_length."""
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, n_fft // 2)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    return np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]


def power_spectrogram(y, n_fft=512, hop_length=None, win_length=None, center=True):
    """|STFT|² as (1 + n_fft // 2, frames). The window (Hann, `win_length`, default n_fft) is
    centred inside each n_fft-sample frame."""
    win_length = n_fft if win_length is None else win_length
    hop_length = win_length // 4 if hop_length is None else hop_length
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start:start + win_length] = hann(win_length)
    spectrum = np.fft.rfft(frames(y, n_fft, hop_length, center) * window, axis=1)
    return (np.abs(spectrum) ** 2).T


# ---------------------------------------------------------------- mel scale

def hz_to_mel(f):
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    linear = f / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / log_step, linear)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * (200.0 / 3))


def mel_filterbank(sr, n_fft, n_mels=40, fmin=0.0, fmax=None):
    """(n_mels, 1 + n_fft // 2) triangular filters, evenly spaced in mels; each is scaled to
    unit area (2 / its width in Hz), so a wide high filter does not outweigh a narrow low one."""
    fmax = sr / 2 if fmax is None else fmax
    bins = np.linspace(0, sr / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def power_to_db(power, amin=1e-10, top_db=80.0):
    """10 · log10(power), floored at `top_db` below its maximum (per call)."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


def mel_spectrogram(y, sr, n_fft=512, hop_length=None, win_length=None, n_mels=40, fmin=0.0,
                    fmax=None):
    """Mel-filtered power, (n_mels, frames)."""
    power = power_spectrogram(y, n_fft, hop_length, win_length)
    return mel_filterbank(sr, n_fft, n_mels, fmin, fmax) @ power


def log_mel(y, sr, n_fft=512, hop_length=None, win_length=None, n_mels=40, top_db=80.0, **kw):
    """Log-mel energies in decibels, (n_mels, frames)."""
    return power_to_db(mel_spectrogram(y, sr, n_fft, hop_length, win_length, n_mels, **kw),
                       top_db=top_db)


def mfcc(y, sr, n_mfcc=13, n_fft=512, hop_length=None, win_length=None, n_mels=40, top_db=80.0, **kw):
    """Mel-frequency cepstral coefficients, (n_mfcc, frames): the orthonormal DCT-II of the
    log-mel energies, keeping the first `n_mfcc` (the spectral envelope, not the pitch)."""
    from scipy.fft import dct

    db = log_mel(y, sr, n_fft, hop_length, win_length, n_mels, top_db, **kw)
    return dct(db, type=2, norm="ortho", axis=0)[:n_mfcc]


def delta(features, width=9, axis=-1):
    """The local slope of `features` along time (HTK's regression formula over `width` frames,
    edges repeated): Σ n·(x[t+n] − x[t−n]) / (2 Σ n²). MFCC + delta + delta-delta gives the
    39-dimensional frames of classic speech recognisers."""
    if width < 3 or width % 2 == 0:
        raise ValueError(f"delta: width must be odd and at least 3, got {width}")
    half = width // 2
    x = np.moveaxis(np.asarray(features, dtype=np.float64), axis, -1)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="edge")
    t = x.shape[-1]
    out = sum(n * (padded[..., half + n:half + n + t] - padded[..., half - n:half - n + t])
              for n in range(1, half + 1))
    out = out / (2 * sum(n * n for n in range(1, half + 1)))
    return np.moveaxis(out, -1, axis)
