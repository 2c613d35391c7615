"""Audio for ch02.data: a synthetic two-chord clip, WAV bytes, frames and a spectrogram.

Sound is air pressure sampled many times a second. A note of frequency f is (roughly) a sine
wave sin(2π f t) plus quieter overtones at 2f, 3f, ...; a chord is several notes added. To let
a network see which notes sound when, the signal is cut into short overlapping frames, each
frame is tapered by a window and Fourier-transformed: the magnitudes, frame after frame, form a
spectrogram — frequency against time, an image a convolutional network can read.
"""
import wave

import numpy as np

from mlseries import viz

SAMPLE_RATE = 8000  # samples per second: enough for notes below 4 kHz (half the rate)
# two chords of half a second each: note name -> fundamental frequency in Hz (equal temperament)
CHORDS = [("C major", {"C4": 261.63, "E4": 329.63, "G4": 392.00}),
          ("G major", {"G3": 196.00, "B3": 246.94, "D4": 293.66})]
OVERTONES = (1.0, 0.35, 0.15)  # relative loudness of f, 2f, 3f: a plucked-string timbre


def chord_audio(rng, seconds_per_chord=0.5, noise=0.005):
    """The clip as float64 samples in [-1, 1]: each chord rises in 20 ms and decays, plus a
    little seeded noise (real recordings are never clean)."""
    n = int(SAMPLE_RATE * seconds_per_chord)
    t = np.arange(n) / SAMPLE_RATE                                      # (n,) seconds
    envelope = np.minimum(t / 0.02, 1.0) * np.exp(-t / 0.4)             # (n,)
    parts = []
    for _, notes in CHORDS:
        tone = sum(weight * np.sin(2 * np.pi * k * f * t)
                   for f in notes.values() for k, weight in enumerate(OVERTONES, start=1))
        parts.append(0.25 * envelope * tone)
    signal = np.concatenate(parts)                                      # (2n,)
    return np.clip(signal + rng.normal(0.0, noise, size=signal.shape), -1.0, 1.0)


def write_wav(path, samples):
    """16-bit mono PCM, the most common WAV flavour: each sample becomes an int16."""
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())


def read_wav(path):
    """The samples of a 16-bit mono WAV file as float64 in [-1, 1]."""
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2 or f.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono, got {8 * f.getsampwidth()}-bit, "
                             f"{f.getnchannels()} channels")
        raw = f.readframes(f.getnframes())
    return np.frombuffer(raw, dtype="<i2") / 32767


def frames(samples, length, hop):
    """Overlapping frames as rows: frame i is samples[i·hop : i·hop + length]. A strided view,
    so no sample is copied until the window multiplies it."""
    windows = np.lib.stride_tricks.sliding_window_view(samples, length)  # (T − length + 1, length)
    return windows[::hop]                                                 # (n_frames, length)


def spectrogram(framed):
    """|FFT| of each Hann-windowed frame. The window tapers the frame's ends to zero, so the
    cut does not add false frequencies (spectral leakage)."""
    window = np.hanning(framed.shape[1])                                 # (length,)
    return np.abs(np.fft.rfft(framed * window, axis=1))                  # (n_frames, length//2 + 1)


def spectrum_peaks(magnitude, freqs, count):
    """Frequencies of the `count` strongest local maxima, each refined between bins by fitting
    a parabola through the log-magnitudes of the peak bin and its two neighbours."""
    m = np.log(magnitude + 1e-12)
    is_peak = (m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:])
    bins = np.flatnonzero(is_peak) + 1
    bins = bins[np.argsort(magnitude[bins])[::-1][:count]]
    left, mid, right = m[bins - 1], m[bins], m[bins + 1]
    shift = 0.5 * (left - right) / (left - 2 * mid + right)              # in bins, within ±0.5
    return np.interp(bins + shift, np.arange(len(freqs)), freqs)


def plot_audio(audio, length, hop):
    """Waveform, its frames under the window, one frame's spectrum, and the spectrogram."""
    samples, framed, spec, freqs = audio["wave"], audio["framed"], audio["spec"], audio["freqs"]
    t = np.arange(len(samples)) / SAMPLE_RATE
    fig = viz.figure(figsize=(13, 8.5))
    (wave_ax, frame_ax), (spectrum_ax, spec_ax) = fig.subplots(2, 2)

    wave_ax.plot(t, samples, lw=0.5, color=viz.COLORS["data"])
    for k, (name, _) in enumerate(CHORDS):
        wave_ax.text((k + 0.5) / len(CHORDS) * t[-1], 0.9, name, ha="center")
    wave_ax.axvline(t[-1] / 2, color="0.5", ls=":")
    wave_ax.set(title=viz.text(f"波形：{len(samples)} 个采样，{SAMPLE_RATE} Hz",
                               f"Waveform: {len(samples)} samples at {SAMPLE_RATE} Hz", sep="\n"),
                xlabel=viz.text("时间 (秒)", "time (s)"), ylabel=viz.text("振幅", "amplitude"),
                ylim=(-1.05, 1.05))

    # three consecutive frames of the first chord, each drawn with the window it is multiplied by
    first = 6
    start, stop = first * hop, (first + 2) * hop + length
    frame_ax.plot(t[start:stop] * 1000, samples[start:stop], lw=0.7, color="0.4",
                  label=viz.text("信号", "signal"))
    window = np.hanning(length)
    scale = np.abs(samples[start:stop]).max()
    for i, color in zip(range(first, first + 3), ("C0", "C1", "C2")):
        span = np.arange(i * hop, i * hop + length) / SAMPLE_RATE * 1000
        frame_ax.plot(span, scale * window, color=color, lw=1.5,
                      label=viz.text(f"第 {i} 帧的窗", f"window of frame {i}"))
    frame_ax.set(title=viz.text(f"分帧：每帧 {length} 个采样，每隔 {hop} 个开始新的一帧",
                                f"Frames of {length} samples, a new one every {hop}", sep="\n"),
                 xlabel=viz.text("时间 (毫秒)", "time (ms)"), ylabel=viz.text("振幅", "amplitude"))
    # room below the signal for the legend, so it hides none of it
    frame_ax.set_ylim(-2.3 * scale, 1.15 * scale)
    frame_ax.legend(loc="lower center", ncol=2, fontsize=8)

    middle = len(framed) // (2 * len(CHORDS))
    shown = freqs <= 1500
    spectrum_ax.plot(freqs[shown], spec[middle, shown], color=viz.COLORS["data"])
    for (note, f), peak in zip(sorted(CHORDS[0][1].items(), key=lambda kv: kv[1]),
                               np.sort(audio["found"][0])):
        spectrum_ax.axvline(peak, color=viz.COLORS["learned"], ls=":", lw=1)
        spectrum_ax.text(peak, spec[middle].max() * 1.02, note, ha="center", va="bottom", fontsize=8)
    peaks = ", ".join(f"{p:.1f}" for p in np.sort(audio["found"][0]))
    spectrum_ax.text(0.97, 0.6, viz.text(f"峰值 {peaks} Hz\n其余是泛音 2f、3f", f"peaks {peaks} Hz\n"
                                         "the rest are overtones 2f, 3f", sep="\n"),
                     transform=spectrum_ax.transAxes, ha="right", fontsize=9)
    spectrum_ax.set(title=viz.text(f"第 {middle} 帧（{CHORDS[0][0]}）的频谱 |FFT|",
                                   f"Spectrum |FFT| of frame {middle} ({CHORDS[0][0]})", sep="\n"),
                    xlabel=viz.text("频率 (Hz)", "frequency (Hz)"), ylabel=viz.text("幅度", "magnitude"),
                    ylim=(0, spec[middle].max() * 1.25))

    db = 20 * np.log10(spec / spec.max() + 1e-6)                          # (n_frames, F)
    image = spec_ax.imshow(db[:, shown].T, origin="lower", aspect="auto", cmap="magma", vmin=-80,
                           extent=(0, len(samples) / SAMPLE_RATE, 0, freqs[shown][-1]))
    fig.colorbar(image, ax=spec_ax, label="dB")
    spec_ax.grid(False)
    spec_ax.set(title=viz.text(f"频谱图：{spec.shape[0]} 帧 × {spec.shape[1]} 个频率（显示 ≤ 1500 Hz）",
                               f"Spectrogram: {spec.shape[0]} frames × {spec.shape[1]} frequencies "
                               "(≤ 1500 Hz shown)", sep="\n"),
                xlabel=viz.text("时间 (秒)", "time (s)"), ylabel=viz.text("频率 (Hz)", "frequency (Hz)"))
    return fig
