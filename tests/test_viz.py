"""The shared figure helpers: bilingual labels, the label check, GIF writing within a size budget."""
import warnings

import numpy as np
import pytest
from PIL import Image

from mlseries import viz
from mlseries.viz import gif, style


@pytest.fixture
def english_only(monkeypatch):
    monkeypatch.setenv("MLSERIES_LANG", "en")
    style.cjk_font.cache_clear()
    yield
    style.cjk_font.cache_clear()


def test_text_drops_chinese_without_a_cjk_font(english_only):
    assert viz.cjk_font() is None
    assert viz.text("损失", "loss") == "loss"


def test_text_keeps_both_languages_when_a_cjk_font_exists():
    if viz.cjk_font() is None:
        pytest.skip("no CJK font installed")
    assert viz.text("损失", "loss") == "损失 / loss"


def test_save_figure_warns_about_missing_labels(tmp_path):
    fig = viz.figure()
    fig.subplots().plot([0, 1])
    with pytest.warns(viz.FigureWarning, match="no title"):
        viz.save_figure(fig, tmp_path / "bare.png")
    ax = fig.axes[0]
    ax.set(title="t", xlabel="x", ylabel="y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = viz.save_figure(fig, tmp_path / "labelled.png")
    assert Image.open(path).format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bare.png", "labelled.png"]  # no temp files


def test_gif_is_thinned_to_fit_its_budget(tmp_path):
    rng = np.random.default_rng(0)
    # noise compresses badly: 20 frames of it are far over a 200 kB budget
    frames = [Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)) for _ in range(20)]
    path = gif.save_gif(frames, tmp_path / "noise.gif", max_bytes=200_000)
    assert path.stat().st_size <= 200_000
    with Image.open(path) as image:
        assert 1 < image.n_frames < 20
        assert image.info["loop"] == 0


def test_gif_writer_writes_on_exit_only_without_error(tmp_path):
    fig = viz.figure(figsize=(2, 2), dpi=40)
    ax = fig.subplots()
    ax.set(title="t", xlabel="x", ylabel="y")
    with pytest.raises(RuntimeError):
        with viz.GifWriter(tmp_path / "broken.gif") as writer:
            writer.add(fig)
            raise RuntimeError("mid-animation")
    assert not (tmp_path / "broken.gif").exists()
    with viz.GifWriter(tmp_path / "ok.gif") as writer:
        for ymax in (1, 2, 3):
            ax.set_ylim(0, ymax)
            writer.add(fig)
    assert Image.open(tmp_path / "ok.gif").n_frames == 3
