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
    fig = viz.figure(figsize=(2, 2), dpi=100)   # readable text: no FigureWarning here
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


# ---------------------------------------------------------------- what a reader trips over

def _labelled(**figure):
    fig = viz.figure(**figure)
    ax = fig.subplots()
    ax.set(title="t", xlabel="x", ylabel="y")
    return fig, ax


def test_a_legend_over_a_line_is_reported_and_one_beside_it_is_not():
    from mlseries.viz.check import layout_problems

    fig, ax = _labelled()
    ax.plot([0, 1], [1, 0], label="falling line")      # passes through the upper-left corner
    ax.axhline(0.5, color="k", ls=":", label="reference")   # axes-coordinate lines do not count
    ax.legend(loc="upper left")
    assert layout_problems(fig) == ["axes 0: the legend covers data (falling line)"]
    ax.legend(loc="upper right")
    assert layout_problems(fig) == []
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15))   # below the axes
    assert layout_problems(fig) == []


def test_a_gap_in_a_line_is_not_drawn_under_the_legend():
    from mlseries.viz.check import layout_problems

    fig, ax = _labelled()
    ax.plot([0, 0.05, np.nan, 0.95, 1], [1, 0.95, np.nan, 0.05, 0], label="two pieces")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="center")                     # over the NaN gap only
    assert layout_problems(fig) == []


def test_text_cut_off_at_the_edge_and_text_too_small_are_reported():
    from mlseries.viz.check import layout_problems

    fig, ax = _labelled(figsize=(3, 2))
    ax.set_title("a title far too long to fit in a figure only three inches wide, surely")
    ax.text(0.5, 0.5, "tiny", fontsize=4)
    problems = layout_problems(fig, dpi=110)
    assert any("cut off" in p for p in problems)
    assert any("smaller than 9 px" in p for p in problems)


def test_tick_labels_outside_the_view_are_ignored():
    from mlseries.viz.check import layout_problems

    fig, ax = _labelled()
    ax.semilogy(np.geomspace(1e-9, 10, 50))      # the locator places ticks beyond the limits
    ax.set_xlim(-3, 3.3)
    assert layout_problems(fig) == []


def test_save_figure_warns_about_layout_problems(tmp_path):
    fig, ax = _labelled()
    ax.plot([0, 1], [1, 0], label="line")
    ax.legend(loc="upper left")
    with pytest.warns(viz.FigureWarning, match="the legend covers data"):
        viz.save_figure(fig, tmp_path / "covered.png")


def test_draw_graph_keeps_labels_readable():
    nodes = {"x": ("x\n(5, 4)", "leaf"), "w": ("a.long.parameter.name\n(8, 4)", "leaf"),
             "y": ("MatMul\n(5, 8)", "op"), "loss": ("Sum\n()", "output")}
    fig = viz.draw_graph(nodes, [("x", "y"), ("w", "y"), ("y", "loss")], title="g")
    assert fig.get_figwidth() < 8          # columns as wide as their labels, not a fixed width
    from mlseries.viz.check import layout_problems
    assert layout_problems(fig) == []
