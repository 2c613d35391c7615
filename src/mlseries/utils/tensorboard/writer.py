"""`SummaryWriter` with PyTorch's signature, writing files a person can read without TensorBoard.

TensorBoard is not installed here and nothing can be downloaded, so instead of event files the
writer keeps, under its `log_dir` (default `runs/<Mon DD_HH-MM-SS>_<host><comment>`, as PyTorch):

- `scalars.csv` — one row per value: `tag,step,value,wall_time` (add_scalar, add_scalars with
  tags `main_tag/key`), appended and flushed at every call, so a crash loses nothing and
  `pandas.read_csv` or a spreadsheet opens it while training runs;
- `images/<tag>/<step>.png` — add_image, add_images (tiled in a grid as TensorBoard shows
  them), add_figure (the matplotlib figure saved as it is);
- `histograms.jsonl`, `text.jsonl`, `hparams.jsonl`, `notes.jsonl` — JSON lines: histogram
  bin edges and counts; text; hyper-parameters with their metrics; and what is only noted
  (add_graph: the model's printout; add_embedding, which also writes the matrix as
  `embeddings/<tag>/<step>/tensors.tsv` and labels as `metadata.tsv`, the projector's format).

A step given as None is written as 0, which is what TensorBoard shows for it. Values may be
tensors, NumPy scalars or Python numbers. `flush_secs`, `max_queue` and `filename_suffix` are
accepted; nothing is queued, every call is on disk when it returns.
"""
import csv
import datetime
import json
import os
import socket
import time

import numpy as np

__all__ = ["SummaryWriter"]


def _numpy(value):
    data = getattr(value, "_data", None)  # an mlseries Tensor
    if data is not None:
        return np.asarray(data)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor handed over by mistake
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _scalar(value, tag):
    arr = _numpy(value)
    if arr.size != 1:
        raise ValueError(f"add_scalar: the value for {tag!r} must be a single number, got an array of shape "
                         f"{tuple(arr.shape)}; use add_histogram for many values")
    return float(arr.reshape(()))


def _safe(tag):
    """A tag as a relative folder path: slashes nest, nothing climbs out of the log dir."""
    parts = [p for p in str(tag).replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return os.path.join(*parts) if parts else "_"


def _to_uint8(img):
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    # PyTorch's convention: floats are in [0, 1]; anything else is taken as 0..255 already.
    if img.size and img.max() <= 1.0 + 1e-6 and img.min() >= -1e-6:
        img = img * 255.0
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _to_hwc(img, dataformats):
    dataformats = dataformats.upper()
    if len(dataformats) != img.ndim or sorted(dataformats) != sorted(set(dataformats)):
        raise ValueError(f"add_image: dataformats {dataformats!r} does not fit an image with {img.ndim} dims "
                         f"(shape {tuple(img.shape)}); use 'CHW', 'HWC', 'HW' (or 'NCHW' for add_images)")
    if dataformats == "HW":
        img = img[..., None]
        dataformats = "HWC"
    img = np.transpose(img, [dataformats.index(c) for c in "HWC"])
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.shape[2] not in (3, 4):
        raise ValueError(f"add_image: an image has 1, 3 or 4 channels, got {img.shape[2]}")
    return img


def _grid(images, ncols=8):
    """(N, H, W, C) -> one (rows*H, cols*W, C) image, the way TensorBoard tiles add_images."""
    n, h, w, c = images.shape
    cols = min(n, ncols)
    rows = (n + cols - 1) // cols
    out = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * h:(r + 1) * h, k * w:(k + 1) * w] = images[i]
    return out


class SummaryWriter:
    """Logs scalars, images, histograms, text and hyper-parameters as CSV, PNG and JSON-lines
    files under `log_dir` (see the module docstring). Use as `with SummaryWriter() as w:` or call
    `close()`."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        if log_dir is None:
            stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.comment, self.purge_step = comment, purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        os.makedirs(self.log_dir, exist_ok=True)
        path = os.path.join(self.log_dir, "scalars.csv")
        new = not os.path.exists(path) or os.path.getsize(path) == 0
        self._scalars = open(path, "a", newline="")
        self._csv = csv.writer(self._scalars)
        if new:
            self._csv.writerow(["tag", "step", "value", "wall_time"])
            self._scalars.flush()
        self._closed = False

    def get_logdir(self):
        return self.log_dir

    # ---- scalars -------------------------------------------------------------------------------
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._check_open()
        self._csv.writerow([tag, self._step(global_step), repr(_scalar(scalar_value, tag)), self._time(walltime)])
        self._scalars.flush()

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves on one chart: each written as tag `main_tag/key`."""
        self._check_open()
        t, step = self._time(walltime), self._step(global_step)
        for key, value in tag_scalar_dict.items():
            self._csv.writerow([f"{main_tag}/{key}", step, repr(_scalar(value, key)), t])
        self._scalars.flush()

    # ---- distributions ---------------------------------------------------------------------------
    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """Bin edges and counts as one JSON line. bins: a NumPy rule ('auto', 'fd', ...), a count,
        or edges; 'tensorflow' (TensorBoard's exponential buckets) is written with 'auto' bins."""
        self._check_open()
        arr = _numpy(values).astype(np.float64).ravel()
        if arr.size == 0:
            raise ValueError(f"add_histogram: the values for {tag!r} are empty")
        if not np.isfinite(arr).all():
            raise ValueError(f"add_histogram: the values for {tag!r} hold NaN or infinity")
        rule = "auto" if bins == "tensorflow" else bins
        if isinstance(rule, str) and max_bins is not None:
            rule = min(len(np.histogram_bin_edges(arr, rule)) - 1, int(max_bins))
        counts, edges = np.histogram(arr, bins=rule)
        self._jsonl("histograms.jsonl", tag, global_step, walltime,
                    {"min": arr.min(), "max": arr.max(), "num": int(arr.size), "sum": arr.sum(),
                     "sum_squares": float((arr ** 2).sum()), "bucket_limits": edges[1:].tolist(),
                     "bin_edges": edges.tolist(), "bucket_counts": counts.tolist()})

    # ---- images ---------------------------------------------------------------------------------
    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._check_open()
        img = _to_hwc(_numpy(img_tensor), dataformats)
        return self._png(tag, global_step, _to_uint8(img))

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images, tiled into one PNG (up to 8 per row)."""
        self._check_open()
        arr = _numpy(img_tensor)
        dataformats = dataformats.upper()
        if "N" not in dataformats or arr.ndim != len(dataformats):
            raise ValueError(f"add_images: dataformats {dataformats!r} does not fit a batch of shape "
                             f"{tuple(arr.shape)}; use 'NCHW', 'NHWC' or 'NHW'")
        n_axis = dataformats.index("N")
        rest = dataformats.replace("N", "")
        batch = np.stack([_to_hwc(x, rest) for x in np.moveaxis(arr, n_axis, 0)])
        return self._png(tag, global_step, _to_uint8(_grid(batch)))

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them, saved side by side as separate files) as PNG."""
        self._check_open()
        figures = figure if isinstance(figure, (list, tuple)) else [figure]
        paths = []
        for i, fig in enumerate(figures):
            path = self._png_path(tag if len(figures) == 1 else f"{tag}/{i}", global_step)
            fig.savefig(path, format="png")
            paths.append(path)
            if close:
                import matplotlib.pyplot as plt
                plt.close(fig)
        return paths[0] if len(paths) == 1 else paths

    # ---- text, hyper-parameters, notes -------------------------------------------------------------
    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._check_open()
        self._jsonl("text.jsonl", tag, global_step, walltime, {"text": str(text_string)})

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None, global_step=None):
        """One JSON line: the hyper-parameters and the metrics they gave; each metric is also
        written to scalars.csv, as PyTorch also logs it as a scalar."""
        self._check_open()
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        hp = {k: (v if isinstance(v, (bool, int, float, str)) or v is None else _plain(v))
              for k, v in hparam_dict.items()}
        metrics = {k: _scalar(v, k) for k, v in metric_dict.items()}
        self._jsonl("hparams.jsonl", run_name or "hparams", global_step, None,
                    {"hparams": hp, "metrics": metrics, "run_name": run_name})
        for k, v in metrics.items():
            self.add_scalar(k, v, global_step)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Noted, not traced: the model's printout goes to notes.jsonl."""
        self._check_open()
        shapes = None
        if input_to_model is not None:
            items = input_to_model if isinstance(input_to_model, (list, tuple)) else [input_to_model]
            shapes = [list(_numpy(x).shape) for x in items]
        self._jsonl("notes.jsonl", "graph", None, None, {"kind": "graph", "model": repr(model),
                                                          "input_shapes": shapes})

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """The matrix as `embeddings/<tag>/<step>/tensors.tsv` (plus metadata.tsv), noted in notes.jsonl."""
        self._check_open()
        arr = _numpy(mat)
        if arr.ndim != 2:
            raise ValueError(f"add_embedding: mat must be 2-D (N, D), got shape {tuple(arr.shape)}")
        folder = os.path.join(self.log_dir, "embeddings", _safe(tag), str(self._step(global_step)))
        os.makedirs(folder, exist_ok=True)
        np.savetxt(os.path.join(folder, "tensors.tsv"), arr, delimiter="\t")
        if metadata is not None:
            with open(os.path.join(folder, "metadata.tsv"), "w") as f:
                if metadata_header is not None:
                    f.write("\t".join(map(str, metadata_header)) + "\n")
                for row in metadata:
                    f.write(("\t".join(map(str, row)) if isinstance(row, (list, tuple)) else str(_plain(row))) + "\n")
        self._jsonl("notes.jsonl", tag, global_step, None, {"kind": "embedding", "shape": list(arr.shape),
                                                           "folder": os.path.relpath(folder, self.log_dir)})

    # ---- life cycle ------------------------------------------------------------------------------
    def flush(self):
        if not self._closed:
            self._scalars.flush()

    def close(self):
        if not self._closed:
            self._scalars.close()
            self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- helpers ---------------------------------------------------------------------------------
    def _check_open(self):
        if self._closed:
            raise RuntimeError("SummaryWriter: this writer was closed; make a new SummaryWriter to log more")

    @staticmethod
    def _step(global_step):
        return 0 if global_step is None else int(_scalar(global_step, "global_step"))

    @staticmethod
    def _time(walltime):
        return time.time() if walltime is None else float(walltime)

    def _jsonl(self, name, tag, global_step, walltime, payload):
        record = {"tag": tag, "step": self._step(global_step), "wall_time": self._time(walltime)}
        record.update({k: _plain(v) for k, v in payload.items()})
        with open(os.path.join(self.log_dir, name), "a") as f:
            f.write(json.dumps(record) + "\n")

    def _png_path(self, tag, global_step):
        folder = os.path.join(self.log_dir, "images", _safe(tag))
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{self._step(global_step)}.png")

    def _png(self, tag, global_step, hwc):
        from PIL import Image
        path = self._png_path(tag, global_step)
        Image.fromarray(hwc, "RGBA" if hwc.shape[2] == 4 else "RGB").save(path)
        return path


def _plain(value):
    """JSON-friendly: NumPy scalars and arrays, tensors, to Python numbers and lists."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    arr = _numpy(value)
    if arr.dtype == object:
        return str(value)
    return arr.item() if arr.size == 1 and arr.ndim == 0 else arr.tolist()
