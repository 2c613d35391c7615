"""Spoken digits, synthesised offline: "zero" … "nine" said by hundreds of synthetic speakers.

The phoneme and speaker labs need speech, and no recorded speech installs with the project. Two
Debian speech synthesisers do: espeak-ng (accents of English × voice variants such as "f3",
"Annie", "grandpa") and flite (CMU's five voices). A speaker is one (synthesiser, accent,
variant); each says each digit `repeats` times at a random speed and pitch. The clean clips are
rendered once and kept in a cache file (`~/.mlseries/cache/spoken-digits/`, or under
`$MLSERIES_DATA/cache`); every time the data set is built, each clip gets its own seeded gain,
position in a one-second window, and white noise at a random signal-to-noise ratio.

Speakers are held out: each speaker's clips are all in one split (80 / 10 / 10 of the speakers,
fixed by `seed`), so a model is tested on voices it never heard. For speaker identification use
`split_by="clip"`: every speaker in every split, their clips divided 80 / 10 / 10.

    ds = SpokenDigits("train")                    # renders on first use (about two minutes)
    x = ds.features("mfcc")                       # (N, 13, 101) float32
    y = ds.targets                                # digits 0-9; ds.speaker_ids for speakers
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor
from ._install import apt_hint
from ._paths import cache_dir
from .audio import delta, log_mel, mfcc, parse_wav, resample, trim_silence
from .errors import CorruptFileError, DatasetNotFoundError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 8000            # telephone band, as the Free Spoken Digit Dataset
DURATION = 1.0                # seconds: every clip is placed in a window this long
SPLITS = ("train", "validation", "test")
CACHE_VERSION = 1

# espeak-ng's English accents (-v) and human-sounding voice variants (+variant); the robotic,
# whispering and "demonic" variants are left out.
ESPEAK_ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
ESPEAK_VARIANTS = (
    "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "antonio", "aunty", "belinda",
    "benjamin", "boris", "caleb", "david", "Denis", "Diogo", "ed", "edward", "edward2", "Gene",
    "Gene2", "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky", "john",
    "kaukovalta", "Lee", "linda", "marcelo", "Marco", "Mario", "max", "Michael", "michel",
    "miguel", "Mike", "Mr", "Nguyen", "pablo", "paul", "pedro", "quincy", "RicishayMax",
    "RicishayMax2", "RicishayMax3", "rob", "robert", "steph", "steph2", "steph3", "Storm", "zac",
    "anika", "AnxiousAndy", "f1", "f2", "f3", "f4", "f5", "grandma", "grandpa", "m1", "m2", "m3",
    "m4", "m5", "m6", "m7", "m8", "norbert", "sandro", "shelby", "travis", "victor")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")     # awb_time only knows clock times

# the random range of each rendering setting
ESPEAK_SPEED = (120, 210)     # words per minute (espeak's default: 175)
ESPEAK_PITCH = (25, 75)       # 0-99 (default 50)
FLITE_STRETCH = (0.8, 1.3)    # duration_stretch (1 = normal)
FLITE_F0 = (0.8, 1.25)        # factor on the voice's own mean pitch


def all_speakers():
    """Every speaker as a string: "espeak-ng:en-us+f3", "flite:slt"."""
    return ([f"espeak-ng:{a}+{v}" for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
            + [f"flite:{v}" for v in FLITE_VOICES])


def _need(program, package):
    if shutil.which(program) is None:
        raise DatasetNotFoundError(f"SpokenDigits: the speech synthesiser {program} is not "
                                   f"installed; {apt_hint(package)}")


def _run(command, name):
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise CorruptFileError(f"{name}: {command[0]} did not finish in 60 s") from None
    if done.returncode != 0:
        raise CorruptFileError(f"{name}: {command[0]} failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout


_FLITE_F0_BASE = {"kal": 105.0, "kal16": 105.0, "awb": 110.0, "rms": 100.0, "slt": 170.0}


def render(speaker, word, speed, pitch, sample_rate=SAMPLE_RATE):
    """One clip: `speaker` says `word`; `speed` and `pitch` are numbers in [0, 1] that map onto
    the synthesiser's own ranges. Returns float32 samples at `sample_rate`, silence trimmed."""
    engine, voice = speaker.split(":", 1)
    name = f"{speaker} saying {word!r}"
    if engine == "espeak-ng":
        _need("espeak-ng", "espeak-ng")
        wpm = round(ESPEAK_SPEED[0] + speed * (ESPEAK_SPEED[1] - ESPEAK_SPEED[0]))
        p = round(ESPEAK_PITCH[0] + pitch * (ESPEAK_PITCH[1] - ESPEAK_PITCH[0]))
        raw = _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(p), "--stdout", word], name)
    elif engine == "flite":
        _need("flite", "flite")
        # slower speech is a larger stretch: speed 0 -> 1.3, speed 1 -> 0.8
        stretch = FLITE_STRETCH[1] - speed * (FLITE_STRETCH[1] - FLITE_STRETCH[0])
        f0 = _FLITE_F0_BASE.get(voice, 110.0) * (FLITE_F0[0] + pitch * (FLITE_F0[1] - FLITE_F0[0]))
        with tempfile.TemporaryDirectory() as tmp:   # flite seeks in its output: a real file
            out = Path(tmp) / "clip.wav"
            _run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
                  "--setf", f"int_f0_target_mean={f0:.1f}", "-t", word, "-o", str(out)], name)
            raw = out.read_bytes()
    else:
        raise ValueError(f"render: unknown synthesiser {engine!r} in speaker {speaker!r}")
    samples, rate = parse_wav(raw, name)
    clip = trim_silence(resample(samples, rate, sample_rate))
    if len(clip) == 0:
        raise CorruptFileError(f"{name}: the synthesiser produced silence")
    return clip


def split_speakers(speakers, seed, fractions=(0.8, 0.1, 0.1)):
    """{split: sorted speakers}: the speakers shuffled by `seed`, cut 80 / 10 / 10, so no
    speaker is in two splits. espeak-ng and flite speakers are split separately, so every split
    has some of each."""
    rng = np.random.default_rng(seed)
    out = {s: [] for s in SPLITS}
    for engine in ("espeak-ng", "flite"):
        group = [s for s in speakers if s.startswith(engine + ":")]
        group = [group[i] for i in rng.permutation(len(group))]
        n_train = int(round(fractions[0] * len(group)))
        n_val = int(round(fractions[1] * len(group)))
        if len(group) >= 3:
            n_train, n_val = min(n_train, len(group) - 2), max(n_val, 1)
        cuts = {"train": group[:n_train], "validation": group[n_train:n_train + n_val],
                "test": group[n_train + n_val:]}
        for s in SPLITS:
            out[s] += cuts[s]
    return {s: sorted(v) for s, v in out.items()}


def plan(speakers, repeats, seed):
    """The clips to render: [(speaker, digit, speed, pitch)], the settings drawn per speaker
    from a generator seeded by the speaker's name, so a speaker's clips do not change when
    other speakers are added or removed."""
    jobs = []
    for speaker in speakers:
        digest = hashlib.sha256(f"{seed}:{speaker}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        for digit in range(10):
            for _ in range(repeats):
                jobs.append((speaker, digit, float(rng.random()), float(rng.random())))
    return jobs


def _cache_path(jobs, sample_rate):
    key = json.dumps([CACHE_VERSION, sample_rate, jobs]).encode()
    return cache_dir("spoken-digits") / f"{hashlib.sha256(key).hexdigest()[:20]}.npz"


def _load_cache(path, n):
    try:
        with np.load(path, allow_pickle=False) as z:
            audio, offsets = z["audio"], z["offsets"]
    except (OSError, ValueError, KeyError, EOFError):
        return None               # a damaged cache is rendered again, not trusted
    if offsets.shape != (n + 1,) or offsets[-1] != len(audio):
        return None
    return [audio[offsets[i]:offsets[i + 1]].astype(np.float32) / 32767 for i in range(n)]


def _pcm16(clip):
    return np.clip(np.rint(clip * 32767), -32768, 32767).astype(np.int16)


def _save_cache(path, clips):
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = np.concatenate([_pcm16(c) for c in clips])
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])]).astype(np.int64)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, audio=audio, offsets=offsets)
        os.replace(tmp, path)       # the cache is complete or absent, never half-written
    except BaseException:
        os.unlink(tmp)
        raise


def render_all(jobs, sample_rate=SAMPLE_RATE, workers=2, cache=True, progress=None):
    """Clean clips for `jobs`, from the cache when it holds them, else rendered (in `workers`
    threads: each clip is a separate synthesiser process) and then cached."""
    path = _cache_path(jobs, sample_rate)
    if cache and path.is_file():
        clips = _load_cache(path, len(jobs))
        if clips is not None:
            return clips, path
    engines = {job[0].split(":", 1)[0] for job in jobs}
    for engine in engines:
        _need(engine, engine)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda j: render(j[0], WORDS[j[1]], j[2], j[3], sample_rate), jobs)
        clips = list(results if progress is None else progress(results, total=len(jobs)))
    # kept as 16-bit samples, as the cache stores them, so a fresh render equals a cached one
    clips = [_pcm16(c).astype(np.float32) / 32767 for c in clips]
    if cache:
        _save_cache(path, clips)
    return clips, path


def place(clips, seed, sample_rate=SAMPLE_RATE, duration=DURATION, snr_db=(10.0, 40.0),
          gain_db=(-6.0, 0.0)):
    """Fixed-length float32 (N, duration·rate) waveforms: each clip scaled by a random gain,
    put at a random offset (cut if longer than the window), plus white noise at a random SNR."""
    length = int(round(duration * sample_rate))
    rng = np.random.default_rng(seed)
    out = np.zeros((len(clips), length), dtype=np.float32)
    for i, clip in enumerate(clips):
        clip = clip[:length] * np.float32(10 ** (rng.uniform(*gain_db) / 20))
        start = rng.integers(0, length - len(clip) + 1)
        out[i, start:start + len(clip)] = clip
        signal_power = float(np.mean(clip ** 2)) + 1e-12
        noise_power = signal_power / 10 ** (rng.uniform(*snr_db) / 10)
        out[i] += rng.standard_normal(length).astype(np.float32) * np.float32(np.sqrt(noise_power))
    return out


class SpokenDigits(Dataset):
    """Synthesised spoken digits; item i is (waveform float32 (8000,), digit).

    split: "train", "validation", "test". split_by: "speaker" (default: each speaker in one
    split) or "clip" (every speaker everywhere: for speaker identification). `n_speakers`
    keeps only the first n speakers of the split (a quick look; the tests use 2).
    `repeats`: clips per speaker and digit. `.speakers` names each clip's speaker,
    `.speaker_ids` numbers them within the data set, `.cache_file` is where the clean clips are.
    """

    classes = WORDS

    def __init__(self, split="train", split_by="speaker", seed=0, repeats=1, n_speakers=None,
                 speakers=None, sample_rate=SAMPLE_RATE, duration=DURATION, snr_db=(10.0, 40.0),
                 cache=True, workers=2, progress=None):
        if split not in SPLITS:
            raise ValueError(f"SpokenDigits: split must be one of {SPLITS}, got {split!r}")
        if split_by not in ("speaker", "clip"):
            raise ValueError(f"SpokenDigits: split_by must be 'speaker' or 'clip', got {split_by!r}")
        pool = list(speakers) if speakers is not None else all_speakers()
        if split_by == "speaker":
            chosen = split_speakers(pool, seed)[split]
        else:
            chosen = sorted(pool)
        if n_speakers is not None:
            chosen = chosen[:n_speakers]
        jobs = plan(chosen, repeats, seed)
        if split_by == "clip":
            rng = np.random.default_rng(seed)
            part = rng.permutation(len(jobs)) % 10          # 8 / 1 / 1 of every ten clips
            keep = {"train": part < 8, "validation": part == 8, "test": part == 9}[split]
            jobs = [j for j, k in zip(jobs, keep) if k]
        clips, self.cache_file = render_all(jobs, sample_rate, workers, cache, progress)
        seed_offset = {"train": 0, "validation": 1, "test": 2}[split]
        self.waveforms = place(clips, [seed, seed_offset], sample_rate, duration, snr_db)
        self.split, self.sample_rate = split, sample_rate
        self.speakers = [j[0] for j in jobs]
        names = sorted(set(self.speakers))
        self.speaker_names = names
        self.speaker_ids = np.array([names.index(s) for s in self.speakers], dtype=np.int64)
        self.labels = np.array([j[1] for j in jobs], dtype=np.int64)
        self.settings = [(j[2], j[3]) for j in jobs]

    @property
    def targets(self):
        return to_tensor(self.labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.waveforms[i], int(self.labels[i])

    def features(self, kind="mfcc", n_mfcc=13, n_mels=40, deltas=False, normalize=False):
        """float32 (N, dims, frames) for the whole split: "mfcc" (n_mfcc coefficients; with
        `deltas`, their deltas and delta-deltas too: 39 for 13) or "logmel" (n_mels energies in
        dB). Frames are 25 ms wide every 10 ms (101 per second). `normalize` standardises each
        dimension over the split (use the training split's statistics for the others)."""
        if kind not in ("mfcc", "logmel"):
            raise ValueError(f"features: kind must be 'mfcc' or 'logmel', got {kind!r}")
        sr = self.sample_rate
        win, hop = int(0.025 * sr), int(0.010 * sr)
        n_fft = 1 << (win - 1).bit_length()
        rows = []
        for y in self.waveforms:
            if kind == "mfcc":
                f = mfcc(y, sr, n_mfcc, n_fft, hop, win, n_mels)
                if deltas:
                    d1 = delta(f)
                    f = np.concatenate([f, d1, delta(d1)])
            else:
                f = log_mel(y, sr, n_fft, hop, win, n_mels)
            rows.append(f)
        x = np.stack(rows).astype(np.float32)
        if normalize:
            mean = x.mean(axis=(0, 2), keepdims=True)
            std = x.std(axis=(0, 2), keepdims=True) + 1e-6
            x = (x - mean) / std
        return x

    def tensors(self, kind="mfcc", **kw):
        """(features as a float32 tensor, digits as int64)."""
        return to_tensor(self.features(kind, **kw)), to_tensor(self.labels)

    def __repr__(self):
        return (f"SpokenDigits(split={self.split!r}, {len(self)} clips, "
                f"{len(self.speaker_names)} speakers)")
