"""HW06: the quick ladder (DCGAN → WGAN → WGAN-GP) and its target, the faces/ reader and the
submission folder it writes, and the lab's own small pieces."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw06 import faces, gan

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw06.gan",))


def test_quick_ladder_has_the_three_rungs_and_wgan_gp_beats_dcgan(runs):
    _, output, record, _ = runs("hw06.gan")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == ["score_dcgan", "score_wgan", "score_wgan_gp"]
    assert m["score_wgan_gp"] < m["score_dcgan"]
    assert 0 < m["fd_floor"] < m["best_score"]                   # nobody reaches the real-vs-real floor
    for rung in ("dcgan", "wgan", "wgan_gp"):                    # every rung learned something
        curve = m[f"fd_curve_{rung}"]
        assert curve[-1] < 0.7 * curve[0]
    assert "original leaderboard (FD, lower is better" in output


def write_faces(folder, n=12, size=96):
    """n small colour JPEGs named 0.jpg … as the course's faces/ folder (a bright disc on dark)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        r = rng.uniform(20, 40)
        disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < r * r)[..., None]
        pixels = np.where(disc, [230, 180, 160], [30, 30, 60]).astype(np.uint8)
        Image.fromarray(pixels, mode="RGB").save(folder / f"{i}.jpg", quality=90)


def test_read_faces_greyscale_28_in_numbered_order(tmp_path):
    write_faces(tmp_path / "faces", n=11)
    images = faces.read_faces(tmp_path)                          # the folder holding faces/ works too
    assert images.shape == (11, 1, 28, 28) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    assert images[0, 0, 14, 14] > 0.6 and images[0, 0, 0, 0] < 0.2   # the bright disc in the middle
    names = [p.name for p in faces.face_files(tmp_path / "faces")]
    assert names[:3] == ["0.jpg", "1.jpg", "2.jpg"] and names[-1] == "10.jpg"
    assert len(faces.read_faces(tmp_path / "faces", limit=4)) == 4


def test_bad_faces_folders_are_refused_naming_the_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabDataError, match="no .jpg/.png images"):
        faces.read_faces(tmp_path / "empty")
    write_faces(tmp_path / "faces", n=3)
    (tmp_path / "faces" / "3.jpg").write_text("not a picture")
    with pytest.raises(LabDataError, match="3.jpg: not a readable image"):
        faces.read_faces(tmp_path / "faces")


def test_write_submission_numbers_from_one_at_96(tmp_path):
    images = np.random.default_rng(0).uniform(size=(5, 1, 28, 28)).astype(np.float32)
    assert faces.write_submission(tmp_path / "sub", images) == 5
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [f"{i}.png" for i in range(1, 6)]
    with Image.open(tmp_path / "sub" / "1.png") as png:
        assert png.size == (96, 96)


def test_the_lab_on_faces_writes_1000_pngs(tmp_path):
    write_faces(tmp_path / "faces")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw06", "--quick", "--out", str(out), "--data", str(tmp_path / "faces")])
    assert result.exit_code == 0, result.output
    folder = out / "hw06.gan" / "submission"
    pngs = sorted(folder.iterdir(), key=lambda p: int(p.stem))
    assert len(pngs) == 1000 and pngs[0].name == "1.png" and pngs[-1].name == "1000.png"
    with Image.open(pngs[0]) as png:
        assert png.size == (96, 96)
    record = json.loads((out / "hw06.gan" / "metrics.json").read_text(encoding="utf-8"))
    assert record["metrics"]["submission_images"] == 1000 and record["metrics"]["train_images"] == 12


def test_a_malformed_faces_folder_exits_4(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    (folder / "0.jpg").write_bytes(b"\xff\xd8 broken")
    result = CliRunner().invoke(main, ["run", "hw06", "--quick", "--out", str(tmp_path / "run"), "--data", str(folder)])
    assert result.exit_code == 4, result.output
    assert "0.jpg: not a readable image" in result.output and "Traceback" not in result.output


def test_tile_lays_images_in_rows_with_gaps():
    images = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) * np.ones((1, 1, 28, 28), np.float32)
    mosaic = gan.tile(images, 3)
    assert mosaic.shape == (2 * 29 - 1, 3 * 29 - 1)
    assert mosaic[0, 0] == 0 and mosaic[0, 29] == 1 and mosaic[29, 29] == 4
    assert mosaic[28, 0] == 1.0 and mosaic[29, 58] == 1.0        # gap and the empty sixth cell stay white (1)


def test_smooth_is_a_moving_average():
    assert np.allclose(gan.smooth([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
    assert np.allclose(gan.smooth([5.0], 10), [5.0])
