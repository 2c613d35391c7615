"""Spoken digits and audio features: the features equal librosa's, a handful of clips render
with speakers held out between splits, the cache is used and a damaged one is replaced, and a
missing synthesiser says how to install it. The full set (6 290 clips) is never rendered here."""

import importlib.util
import io
import shutil

import numpy as np
import pytest

from mlseries.datasets import audio, speech
from mlseries.datasets.errors import CorruptFileError, DatasetNotFoundError

has_synths = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("flite") is None,
                                reason="espeak-ng or flite not installed")
has_librosa = pytest.mark.skipif(importlib.util.find_spec("librosa") is None,
                                 reason="librosa not installed")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSERIES_DATA", str(tmp_path))
    return tmp_path / "cache" / "spoken-digits"


def signal(sr=8000, seconds=1.0, seed=0):
    t = np.arange(int(sr * seconds)) / sr
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t) + 0.05 * noise).astype(np.float32)


# ---------------------------------------------------------------- features against librosa

@has_librosa
@pytest.mark.parametrize("sr, n_fft, hop, win, n_mels", [(8000, 256, 80, 200, 40), (16000, 512, 160, 400, 64),
                                                         (22050, 1024, 256, 1024, 128)])
def test_features_equal_librosa(sr, n_fft, hop, win, n_mels):
    import librosa

    y = signal(sr)
    power = audio.power_spectrogram(y, n_fft, hop, win)
    ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win)) ** 2
    assert power.shape == ref.shape
    np.testing.assert_allclose(power, ref, rtol=1e-4, atol=1e-6 * ref.max())
    np.testing.assert_allclose(audio.mel_filterbank(sr, n_fft, n_mels),
                               librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels), atol=1e-7)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, win_length=win,
                                         n_mels=n_mels)
    np.testing.assert_allclose(audio.log_mel(y, sr, n_fft, hop, win, n_mels),
                               librosa.power_to_db(mel), atol=1e-3)
    ref_mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, n_fft=n_fft, hop_length=hop,
                                    win_length=win, n_mels=n_mels)
    np.testing.assert_allclose(audio.mfcc(y, sr, 13, n_fft, hop, win, n_mels), ref_mfcc, atol=2e-3)
    np.testing.assert_allclose(audio.delta(ref_mfcc, 9), librosa.feature.delta(ref_mfcc, width=9, mode="nearest"),
                               atol=1e-4)
    freqs = np.array([0, 200, 999, 1000, 1001, 4000, 11025])
    np.testing.assert_allclose(audio.hz_to_mel(freqs), librosa.hz_to_mel(freqs), rtol=1e-12)
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(freqs)), freqs, rtol=1e-9, atol=1e-9)


def test_delta_of_a_ramp_is_its_slope():
    ramp = np.arange(20.0)[None] * 0.5
    d = audio.delta(ramp, width=5)
    assert np.allclose(d[0, 3:-3], 0.5)
    with pytest.raises(ValueError, match="odd"):
        audio.delta(ramp, width=4)


# ---------------------------------------------------------------- WAV

def test_wav_round_trip_and_pipe_headers():
    y = 0.5 * signal()[:1000]
    buffer = io.BytesIO()
    audio.write_wav(buffer, y, 8000)
    raw = buffer.getvalue()
    back, rate = audio.parse_wav(raw)
    assert rate == 8000 and np.abs(back - y).max() < 1e-4
    # a program writing to a pipe cannot fill in the data length: it says 0x7ffff000
    piped = raw[:40] + (0x7FFFF000).to_bytes(4, "little") + raw[44:]
    assert len(audio.parse_wav(piped)[0]) == 1000
    with pytest.raises(CorruptFileError, match="clip.wav: not a WAV file"):
        audio.parse_wav(b"OggS" + raw[4:], "clip.wav")
    with pytest.raises(CorruptFileError, match="no data chunk"):
        audio.parse_wav(raw[:36], "clip.wav")


def test_resample_and_trim():
    y = signal(16000)
    assert len(audio.resample(y, 16000, 8000)) == 8000
    padded = np.r_[np.zeros(4000, np.float32), y[:2000], np.zeros(4000, np.float32)]
    trimmed = audio.trim_silence(padded)
    assert 2000 <= len(trimmed) < 2600


# ---------------------------------------------------------------- speakers and splits

def test_speakers_are_held_out_between_splits():
    speakers = speech.all_speakers()
    assert len(speakers) == len(speech.ESPEAK_ACCENTS) * len(speech.ESPEAK_VARIANTS) + 5
    parts = speech.split_speakers(speakers, seed=0)
    sets = [set(parts[s]) for s in speech.SPLITS]
    assert sum(map(len, sets)) == len(speakers) == len(set.union(*sets))
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert all(any(s.startswith("flite:") for s in part) for part in sets)   # each split has both
    assert [len(parts[s]) for s in speech.SPLITS] == [502, 63, 64]
    assert speech.split_speakers(speakers, seed=1) != parts


def test_plan_is_fixed_per_speaker():
    a = speech.plan(["flite:slt", "espeak-ng:en+f3"], repeats=2, seed=0)
    b = speech.plan(["espeak-ng:en+f3"], repeats=2, seed=0)
    assert len(a) == 40 and [j for j in a if j[0] == "espeak-ng:en+f3"] == b


@has_synths
def test_a_handful_of_clips_render_and_are_cached(cache, monkeypatch):
    ds = speech.SpokenDigits("test", n_speakers=2)
    assert len(ds) == 20 and ds.waveforms.shape == (20, 8000) and ds.waveforms.dtype == np.float32
    assert sorted(ds.labels.tolist()) == sorted(list(range(10)) * 2)
    assert len(ds.speaker_names) == 2 and set(ds.speaker_ids.tolist()) == {0, 1}
    assert ds.cache_file.parent == cache and ds.cache_file.is_file()
    wave, label = ds[3]
    assert wave.shape == (8000,) and 0 <= label <= 9 and np.abs(wave).max() > 0.01
    x = ds.features("mfcc", deltas=True)
    assert x.shape == (20, 39, 101) and np.isfinite(x).all()
    assert ds.features("logmel").shape == (20, 40, 101)
    xs, ys = ds.tensors("mfcc", normalize=True)
    assert abs(float(xs.numpy().mean())) < 1e-3

    # the second time nothing is rendered, and the waveforms are the same
    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(speech, "render", no_render)
    again = speech.SpokenDigits("test", n_speakers=2)
    np.testing.assert_array_equal(again.waveforms, ds.waveforms)
    monkeypatch.undo()

    # a damaged cache is rendered again, not trusted
    ds.cache_file.write_bytes(b"garbage")
    monkeypatch.setenv("MLSERIES_DATA", str(cache.parent.parent))
    fresh = speech.SpokenDigits("test", n_speakers=2)
    np.testing.assert_allclose(fresh.waveforms, ds.waveforms, atol=1e-4)


@has_synths
def test_every_flite_voice_and_some_espeak_accents_speak():
    for speaker in ["flite:" + v for v in speech.FLITE_VOICES] + ["espeak-ng:en-us+f3", "espeak-ng:en-029+m1"]:
        clip = speech.render(speaker, "seven", 0.5, 0.5)
        assert 0.2 < len(clip) / speech.SAMPLE_RATE < 1.0, speaker


@has_synths
def test_split_by_clip_keeps_speakers_everywhere(cache):
    speakers = ["flite:slt", "flite:rms"]
    parts = {s: speech.SpokenDigits(s, split_by="clip", speakers=speakers, repeats=2) for s in speech.SPLITS}
    assert sum(len(p) for p in parts.values()) == 40
    assert set(parts["train"].speakers) == set(speakers)


def test_missing_synthesiser_says_how_to_install(cache, monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(DatasetNotFoundError, match=r"espeak-ng is not installed.*sudo apt-get install espeak-ng"):
        speech.SpokenDigits("test", n_speakers=1)
    with pytest.raises(ValueError, match="split must be"):
        speech.SpokenDigits("dev")
