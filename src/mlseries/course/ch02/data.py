"""ch02.data — 数据表示 / From everyday data to tensors: text, images, audio, tables.

A network only ever sees arrays of numbers. This lesson takes four kinds of everyday data and
turns each into a tensor, printing the shape and a sample at every step:

- text: Chinese product reviews -> characters -> ids from a vocabulary -> a padded (N, L)
  int64 tensor (and what one-hot and bag-of-characters vectors would look like);
- images: a handwritten digit is a (28, 28) grid of brightness 0-255; a photo is (H, W, 3);
  frameworks want float (N, C, H, W);
- audio: a chord is a list of air-pressure samples; cut into overlapping frames and
  Fourier-transformed, it becomes a spectrogram, an image of frequency against time;
- tables: rows of measurements in very different units (wine: proline ~1000, hue ~1), which
  min-max scaling or z-scores bring to a common scale before training.

Normalisation statistics always come from the training split only and are then applied
unchanged to the test split — the test set stands for data the model has not seen yet.

    mlseries run ch02.data [--quick]
"""
import numpy as np

import mlseries as ms
from mlseries import datasets, viz
from mlseries.datasets import transforms

from .data_audio import (CHORDS, SAMPLE_RATE, chord_audio, frames, plot_audio, read_wav,
                              spectrogram, spectrum_peaks, write_wav)
from ..registry import lesson
from ..table import format_table

TEXT_LEN = 120         # characters kept per review: most reviews are shorter (see text.png)
FRAME, HOP = 1024, 256  # audio frame of 128 ms at 8 kHz (7.8 Hz per bin), a new frame every 32 ms


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "text.png": ("大多数评论短于 120 个字：截断在 120，右图每行是一条评论的字 id，空白是补齐的 0。",
                 "Most reviews are shorter than 120 characters: cut there; on the right each row is one review's character ids, blank is padding."),
    "images.png": ("图像就是数字表格：灰度图一个通道，彩色照片三个通道（R、G、B）。",
                   "An image is a table of numbers: one channel for grey, three (R, G, B) for a colour photo."),
    "audio.png": ("声音被切成重叠的帧，每帧的频谱峰值正是和弦的三个音；频谱图在 0.5 秒处换和弦。",
                  "Sound is cut into overlapping frames; each frame's spectrum peaks at the chord's three notes, and the spectrogram changes chord at 0.5 s."),
    "tabular.png": ("原始特征的尺度相差上千倍；缩放后都落在相近的范围里。",
                    "Raw features differ in scale by a factor of a thousand; after scaling they share one range."),
}


# ---------------------------------------------------------------- 1. text

def text_to_tensor(ctx):
    """Reviews -> a character vocabulary built on the training split -> padded id tensors."""
    reviews = datasets.Reviews(split="train")
    tokenizer = datasets.CharTokenizer.from_texts(reviews.texts)  # training split only
    sample = reviews.texts[:4]
    ids, lengths = tokenizer.encode_batch(sample, max_len=TEXT_LEN)   # (4, L), (4,)
    x = ms.tensor(ids)                                                 # int64 (4, L)
    ctx.log(f"\nText: {len(reviews)} training reviews, vocabulary of {len(tokenizer)} characters "
            f"(ids 0-3 are {' '.join(tokenizer.vocab.itos[:4])})")
    ctx.log(f"  review: {sample[0]}  (label {reviews.labels[0]}: "
            f"{reviews.classes[reviews.labels[0]]})")
    ctx.log(f"  ids:    {ids[0, :lengths[0]].tolist()}")
    ctx.log(f"  4 reviews -> ids tensor {tuple(x.shape)} {x.dtype}, lengths {lengths.tolist()} "
            f"(0 = <pad> after the end, longer reviews cut at {TEXT_LEN})")
    onehot = np.eye(len(tokenizer), dtype=np.float32)[ids[0]]         # (L, V)
    bag = np.stack([np.bincount(row[row > 0], minlength=len(tokenizer)) for row in ids])  # (4, V)
    ctx.log(f"  one-hot of one review: {onehot.shape} ({onehot.nbytes / 1e3:.0f} kB of mostly "
            f"zeros: why models look ids up in an embedding table instead)")
    ctx.log(f"  bag of characters: {bag.shape}, counts without order")
    decoded_ok = all(tokenizer.decode(row[:n]) == text[:TEXT_LEN]
                     for row, n, text in zip(ids, lengths, sample))
    all_lengths = np.array([len(t) for t in reviews.texts])
    return dict(reviews=reviews, tokenizer=tokenizer, ids=ids, lengths=all_lengths,
                decoded_ok=decoded_ok, shape=tuple(x.shape), onehot_shape=onehot.shape)


def plot_text(text):
    lengths, tokenizer = text["lengths"], text["tokenizer"]
    ids, _ = tokenizer.encode_batch(text["reviews"].texts[:12], max_len=TEXT_LEN)  # (12, L)
    fig = viz.figure(figsize=(12, 4.2))
    left, right = fig.subplots(1, 2)
    left.hist(lengths, bins=np.arange(0, lengths.max() + 10, 10), color=viz.COLORS["data"])
    left.axvline(TEXT_LEN, color=viz.COLORS["learned"], ls="--",
                 label=viz.text(f"截断长度 {TEXT_LEN}（{np.mean(lengths <= TEXT_LEN):.0%} 的评论更短）",
                                f"cut at {TEXT_LEN} "
                                f"({np.mean(lengths <= TEXT_LEN):.0%} are shorter)"))
    left.set(title=viz.text("评论长度（字符）", "Review length in characters"), xlim=(0, 300),
             xlabel=viz.text("字符数", "characters"), ylabel=viz.text("评论数", "reviews"))
    left.legend(loc="upper right")
    image = right.imshow(np.where(ids == 0, np.nan, ids), aspect="auto", cmap="viridis",
                         interpolation="nearest")
    fig.colorbar(image, ax=right, label="id")
    right.grid(False)
    right.set(title=viz.text("12 条评论的 id 矩阵（空白 = 填充 0）", "Ids of 12 reviews (blank = padding 0)",
                             sep="\n"),
              xlabel=viz.text("字符位置", "character position"), ylabel=viz.text("评论", "review"))
    return fig


# ---------------------------------------------------------------- 2. images

def images_to_tensor(ctx):
    """Digits and a photo: integers in a grid -> float tensors, scaled and standardised."""
    mnist = datasets.MNIST(train=True)
    images = mnist.data.numpy()                                        # uint8 (N, 28, 28)
    x = images.astype(np.float32) / 255.0                              # min-max: [0, 255] -> [0, 1]
    x = x[:, None]                                                     # (N, 1, 28, 28): one channel
    z = (x - mnist.mean) / mnist.std                                   # z-scores, training statistics
    ctx.log(f"\nImages: MNIST ({mnist.source}, {len(mnist)} training digits) as uint8 {images.shape}")
    ctx.log(f"  digit {int(mnist.targets[0].item())}, rows 10-13, columns 10-17:\n"
            + "\n".join("    " + " ".join(f"{v:3d}" for v in row) for row in images[0, 10:14, 10:18]))
    ctx.log(f"  / 255 -> float32 {x.shape} in [{x.min():.0f}, {x.max():.0f}]; "
            f"(x − {mnist.mean}) / {mnist.std} -> mean {z.mean():.4f}, std {z.std():.4f}")
    # the data sets' own transforms (torchvision's names) do the same per image
    pipeline = transforms.Compose([transforms.ToTensor(),
                                   transforms.Normalize((mnist.mean,), (mnist.std,))])
    same = np.allclose(pipeline(images[0]).numpy(), z[0], atol=1e-6)
    photo = datasets.sample_image("china.jpg")                        # uint8 (H, W, 3)
    chw = transforms.ToTensor()(photo)                                # float32 (3, H, W)
    ctx.log(f"  photo: {photo.shape} (height, width, RGB) -> tensor {tuple(chw.shape)} "
            "(channels first, as conv layers expect)")
    digits = datasets.Digits(train=None)
    # the 8×8 digits were stored as 0-16 and scaled to 0-255; undo that to show the originals
    # (dividing first turns the uint8 into floats: uint8 · 16 would overflow)
    digit8 = np.rint(digits.data.numpy()[0] / 255 * 16).astype(int)
    return dict(mnist=images, label=int(mnist.targets[0].item()), digit8=digit8,
                photo=photo, shape=tuple(x.shape), photo_shape=tuple(chw.shape),
                z_mean=float(z.mean()), z_std=float(z.std()), transforms_agree=same)


def plot_images(img):
    fig = viz.figure(figsize=(13, 8))
    axes = fig.subplots(2, 3)
    digit, photo = img["mnist"][0], img["photo"]
    axes[0, 0].imshow(digit, cmap="gray")
    axes[0, 0].set(title=viz.text(f"MNIST 数字 {img['label']}：28×28，0–255",
                                  f"MNIST digit {img['label']}: 28×28, 0–255", sep="\n"))
    axes[0, 1].imshow(img["digit8"], cmap="gray_r", vmin=0, vmax=16)
    for (i, j), v in np.ndenumerate(img["digit8"]):
        axes[0, 1].text(j, i, str(v), ha="center", va="center", fontsize=9,
                        color="white" if v > 8 else "black")
    axes[0, 1].set(title=viz.text("8×8 数字：每个像素就是一个数 (0–16)",
                                  "8×8 digit: each pixel is a number (0–16)", sep="\n"))
    axes[0, 2].imshow(photo)
    axes[0, 2].set(title=viz.text(f"照片 {photo.shape}：高、宽、RGB",
                                  f"Photo {photo.shape}: height, width, RGB", sep="\n"))
    for c, (ax, name) in enumerate(zip(axes[1], "RGB")):
        alone = np.zeros_like(photo)
        alone[..., c] = photo[..., c]  # this channel only: bright where the photo has much of it
        ax.imshow(alone)
        ax.set(title=viz.text(f"通道 {c}（{name}）", f"channel {c} ({name}): tensor x[{c}]", sep="\n"))
    for ax in axes.ravel():
        ax.grid(False)
        ax.set(xlabel=viz.text("列（宽）", "column (width)"), ylabel=viz.text("行（高）", "row (height)"))
    return fig


# ---------------------------------------------------------------- 3. audio

def audio_to_tensor(ctx, rng):
    """A seeded two-chord clip -> WAV bytes and back -> frames -> a spectrogram tensor."""
    wave = chord_audio(rng)                                            # float64 (T,) in [-1, 1]
    path = ctx.path("chord.wav")
    write_wav(path, wave)
    samples = read_wav(path)                                           # what any WAV reader gives
    ctx.log(f"\nAudio: {len(wave)} samples at {SAMPLE_RATE} Hz ({len(wave) / SAMPLE_RATE:.1f} s), "
            f"chords {' then '.join(name for name, _ in CHORDS)}, "
            f"written to {path.name} and read back")
    ctx.log(f"  first samples: {np.round(samples[:6], 4).tolist()}")
    framed = frames(samples, FRAME, HOP)                               # (n_frames, FRAME)
    spec = spectrogram(framed)                                         # (n_frames, FRAME // 2 + 1)
    freqs = np.fft.rfftfreq(FRAME, d=1 / SAMPLE_RATE)                  # (F,) Hz of each column
    tensor = ms.tensor(spec.T[None].astype(np.float32))                # (1, F, n_frames)
    ctx.log(f"  frames of {FRAME} samples every {HOP}: {framed.shape}; |FFT| -> {spec.shape}; "
            f"as an image tensor {tuple(tensor.shape)} (channel, frequency, time)")
    found, errors = [], []
    for k, (name, notes) in enumerate(CHORDS):
        middle = (2 * k + 1) * len(framed) // (2 * len(CHORDS))        # a frame inside chord k
        peaks = spectrum_peaks(spec[middle], freqs, count=len(notes))
        found.append(peaks)
        errors.extend(np.abs(np.sort(peaks) - np.sort(list(notes.values()))))
        ctx.log(f"  {name}: notes {', '.join(f'{n} {f:.1f}' for n, f in notes.items())} Hz; "
                f"spectrum peaks at {', '.join(f'{p:.1f}' for p in np.sort(peaks))} Hz")
    quantised = np.round(np.clip(wave, -1, 1) * 32767) / 32767
    return dict(wave=samples, framed=framed, spec=spec, freqs=freqs, found=found,
                peak_error=float(np.max(errors)), bin_width=SAMPLE_RATE / FRAME,
                wav_ok=bool(np.array_equal(samples, quantised)), shape=tuple(tensor.shape))


# ---------------------------------------------------------------- 4. tables

def minmax(train, test):
    low, high = train.min(axis=0), train.max(axis=0)
    return (train - low) / (high - low), (test - low) / (high - low)


def zscore(train, test):
    mean, std = train.mean(axis=0), train.std(axis=0)
    return (train - mean) / std, (test - mean) / std


def tables_to_tensor(ctx, rng):
    from sklearn.datasets import load_diabetes, load_wine  # imported here: sklearn is slow to import

    wine = load_wine()
    x, y = wine.data, wine.target                                      # (178, 13) float64, (178,)
    order = rng.permutation(len(x))
    train, test = order[:142], order[142:]                            # 80 % / 20 %
    mm_train, mm_test = minmax(x[train], x[test])
    z_train, z_test = zscore(x[train], x[test])
    ctx.log(f"\nTables: wine {x.shape}, 3 cultivars; columns range from "
            f"{x.min(axis=0).min():.2f} to {x.max(axis=0).max():.0f} "
            f"({wine.feature_names[int(np.argmax(x.max(axis=0)))]})")
    rows = [(name, f"{x[train, j].min():.2f}–{x[train, j].max():.2f}",
             f"{x[train, j].mean():.2f} ± {x[train, j].std():.2f}",
             f"{mm_test[:, j].min():.2f}–{mm_test[:, j].max():.2f}",
             f"{z_test[:, j].mean():+.2f} ± {z_test[:, j].std():.2f}")
            for j, name in enumerate(wine.feature_names[:5])]
    ctx.log(format_table(["feature (first 5 of 13)", "train range", "train mean ± std",
                          "test after min-max", "test after z-score"], rows))
    ctx.log("  (the test split is scaled with the training numbers, so it can leave [0, 1] a little)")
    features = ms.tensor(z_train.astype(np.float32))                   # (142, 13)
    labels = ms.tensor(y[train])                                       # int64 (142,)
    # a category is not a quantity: diabetes codes sex as 1 / 2, which one-hot makes two columns
    diabetes = load_diabetes(scaled=False)
    sex = diabetes.data[:, 1].astype(int)                              # (442,) values 1 and 2
    onehot = np.eye(2)[sex - 1]                                        # (442, 2)
    ctx.log(f"  wine -> features {tuple(features.shape)} {features.dtype}, labels "
            f"{tuple(labels.shape)} {labels.dtype}; diabetes {diabetes.data.shape}: 'sex' "
            f"{sex[:5].tolist()} -> one-hot {onehot[:2].astype(int).tolist()}")
    return dict(names=wine.feature_names, raw=x[train], minmax=mm_train, z=z_train,
                minmax_range=(float(mm_train.min()), float(mm_train.max())),
                z_mean=float(np.abs(z_train.mean(axis=0)).max()),
                z_std=float(np.abs(z_train.std(axis=0) - 1).max()),
                shape=tuple(features.shape))


def plot_tables(tab):
    fig = viz.figure(figsize=(14, 5.5))
    axes = fig.subplots(1, 3)
    short = [n.replace("od280/od315_of_diluted_wines", "od280/od315").replace("_", " ")
             for n in tab["names"]]
    for i, (ax, key, title, scale) in enumerate([
            (axes[0], "raw", viz.text("原始值（对数坐标）", "Raw values (log scale)", sep="\n"), "log"),
            (axes[1], "minmax", viz.text("最小-最大缩放到 [0, 1]", "Min-max to [0, 1]", sep="\n"),
             "linear"),
            (axes[2], "z", viz.text("z 分数：均值 0，标准差 1", "z-scores: mean 0, std 1", sep="\n"),
             "linear")]):
        # vertical boxes and names set afterwards: the keyword names for horizontal boxes and
        # their labels have changed across Matplotlib versions
        ax.boxplot(tab[key], widths=0.6)
        ax.set_xticks(range(1, len(short) + 1), short, rotation=60, ha="right", fontsize=8)
        ax.set(title=title, yscale=scale, ylabel=viz.text("值", "value"),
               xlabel=viz.text("特征（葡萄酒，训练集）", "feature (wine, training split)"))
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch02.data", zh="数据表示：文本、图像、音频、表格转为张量",
        en="Data as tensors: text, images, audio and tables")
def run(ctx):
    text = text_to_tensor(ctx)
    img = images_to_tensor(ctx)
    audio = audio_to_tensor(ctx, ctx.rng(1))
    tab = tables_to_tensor(ctx, ctx.rng(2))

    # results: one table of what each kind of data became
    summary = [("text", "reviews (characters)", f"ids {text['shape']}", "int64"),
               ("image", "MNIST digits, uint8", f"{img['shape']}", "float32"),
               ("image", "photo (H, W, RGB)", f"{img['photo_shape']}", "float32"),
               ("audio", "chord, 8 kHz samples", f"spectrogram {audio['shape']}", "float32"),
               ("table", "wine measurements", f"{tab['shape']}", "float32")]
    ctx.log("\n" + format_table(["kind", "raw data", "tensor shape", "dtype"], summary))
    ctx.record(vocabulary=len(text["tokenizer"]), text_tensor_shape=list(text["shape"]),
               image_tensor_shape=list(img["shape"]), photo_tensor_shape=list(img["photo_shape"]),
               audio_tensor_shape=list(audio["shape"]), table_tensor_shape=list(tab["shape"]),
               image_z_mean=img["z_mean"], image_z_std=img["z_std"],
               audio_peak_error_hz=audio["peak_error"], audio_bin_hz=audio["bin_width"],
               table_minmax_min=tab["minmax_range"][0], table_minmax_max=tab["minmax_range"][1],
               table_z_max_abs_mean=tab["z_mean"], table_z_max_std_error=tab["z_std"])
    ctx.check("text ids decode back to the reviews", text["decoded_ok"])
    ctx.check("Normalize transform equals the hand-written z-score", img["transforms_agree"])
    ctx.check("WAV file reads back to the same samples", audio["wav_ok"])
    ctx.check("spectrum peaks within one bin of the chord's notes",
              audio["peak_error"] <= audio["bin_width"])
    ctx.check("min-max puts training features in [0, 1]", tab["minmax_range"] == (0.0, 1.0))
    ctx.check("z-scores have mean 0 and std 1 on the training split",
              tab["z_mean"] < 1e-12 and tab["z_std"] < 1e-12)

    # figures
    ctx.save_figure(plot_text(text), "text.png")
    ctx.save_figure(plot_images(img), "images.png")
    ctx.save_figure(plot_audio(audio, FRAME, HOP), "audio.png")
    ctx.save_figure(plot_tables(tab), "tabular.png")
