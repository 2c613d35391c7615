"""hw08 (anomaly detection): the quick ladder and its target, the trainingset.npy / testingset.npy
reader with the prediction.csv it writes, malformed arrays, and the models' shapes."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

import mlseries as ms
from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw08 import anomaly, faces

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw08.anomaly",))


def test_quick_ladder(runs):
    _, _, record, _ = runs("hw08.anomaly")
    m = record["metrics"]
    assert m["best_score"] >= 0.9 and m["best_rung"] == "fc"
    assert m["score_cnn"] > 0.75                     # well above chance, below the narrow sample


def write_faces(folder, n_train=24, n_test=10, shape=(64, 64, 3), test_shape=None):
    rng = np.random.default_rng(0)
    np.save(folder / "trainingset.npy", rng.integers(0, 255, (n_train, *shape), dtype=np.uint8))
    np.save(folder / "testingset.npy", rng.integers(0, 255, (n_test, *(test_shape or shape)), dtype=np.uint8))


def test_lab_on_course_arrays_writes_prediction_csv(tmp_path):
    write_faces(tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw08", "--quick", "--out", str(out), "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(out / "hw08.anomaly" / "prediction.csv")))
    assert rows[0] == ["ID", "score"] and len(rows) == 11 and rows[1][0] == "0"
    assert all(float(r[1]) >= 0 for r in rows[1:])


def test_wrong_shape_exits_4(tmp_path):
    write_faces(tmp_path, shape=(64, 64))
    result = CliRunner().invoke(main, ["run", "hw08", "--quick", "--out", str(tmp_path / "run"),
                                       "--data", str(tmp_path)])
    assert result.exit_code == 4, result.output
    assert "trainingset.npy: shape (24, 64, 64)" in result.output


def test_train_and_test_sizes_must_agree(tmp_path):
    write_faces(tmp_path, test_shape=(32, 32, 3))
    with pytest.raises(LabDataError, match="testingset.npy: images of shape"):
        faces.read_faces(tmp_path)


def test_reader_scales_uint8_to_minus_one_one(tmp_path):
    write_faces(tmp_path)
    data = faces.read_faces(tmp_path)
    assert data["train"].shape == (24, 3, 64, 64) and data["train"].min() >= -1 and data["train"].max() <= 1


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 64, 64)])
def test_models_rebuild_the_input_shape(shape):
    x = ms.tensor(np.zeros((2, *shape), np.float32))
    for cls in (anomaly.FCAutoEncoder, anomaly.ConvAutoEncoder):
        assert cls(shape)(x).shape == (2, *shape)
    out, mu, logvar = anomaly.ConvVAE(shape)(x)
    assert out.shape == (2, *shape) and mu.shape == (2, 16 * shape[0], shape[1] // 8, shape[2] // 8)


def test_elbo_score_adds_the_kl_term():
    ms.manual_seed(0)
    model = anomaly.ConvVAE((1, 32, 32))
    x = np.random.default_rng(0).uniform(-1, 1, (4, 1, 32, 32)).astype(np.float32)
    rec, elbo = anomaly.scores(model, x), anomaly.scores(model, x, elbo=True)
    assert np.all(elbo >= rec - 1e-6)
