"""Quick runs of the first chapters' lessons (functions, NumPy, data, derivatives, the dense
network by hand): their targets from metrics.json, their figures, and their reproducibility."""

import numpy as np
import pytest
from PIL import Image

from mlseries import course

from lesson_checks import quick_run_suite

LESSONS = ("ch01.functions", "ch01.numpy", "ch02.data", "ch04.derivatives", "ch04.dnn")


# one quick run per lesson, shared by the tests below: runs(id) -> (out, output, record, warnings)
runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_same_seed_same_metrics(runs, lesson_id, tmp_path):
    _, _, record, _ = runs(lesson_id)
    again = course.run_lesson(course.get(lesson_id), tmp_path, quick=True, seed=0,
                              echo=lambda s: None)
    assert again.metrics == record["metrics"]


# ---------------------------------------------------------------- ch01.functions

def test_functions_draw_every_family_and_the_shift(runs):
    out, _, record, _ = runs("ch01.functions")
    families = ("linear", "power", "polynomial", "rational", "exponential", "logarithm",
                "trigonometric")
    assert {f"{name}.png" for name in families} <= set(record["files"])
    others = {"composition.png", "transforms.png", "inverse.png", "shift_anim.gif"}
    assert others <= set(record["files"])
    m = record["metrics"]
    assert m["identity_max_error"] <= 1e-12 and m["identities_checked"] >= 10
    with Image.open(out / "shift_anim.gif") as gif:
        assert gif.n_frames == m["animation_frames"]


def test_function_helpers():
    from mlseries.course.ch01 import functions as f

    assert f.compose(np.sqrt, lambda x: x + 1)(np.array([3.0]))[0] == 2.0  # sqrt(3 + 1)
    shifted = f.transform(lambda x: x ** 2, h=2, k=-1)
    assert shifted(np.array([2.0]))[0] == -1.0  # the vertex moved to (2, -1)
    assert f.factored([-1.0, 0.0, 2.0]) == "y = (x + 1)x(x − 2)"


# ---------------------------------------------------------------- ch01.numpy

def test_numpy_asserts_all_hold(runs):
    out, _, record, _ = runs("ch01.numpy")
    m = record["metrics"]
    assert m["asserts_failed"] == 0 and m["asserts_held"] == m["asserts_checked"] >= 80
    assert m["sections"] == 23
    session = (out / "numpy_session.txt").read_text(encoding="utf-8")
    # the seed's four asserts are in the session, executed
    for index in ("arr[1, 2:4]", "arr[:, 1]", "arr[2:, 2:]", "arr[1::2, ::2]"):
        assert f">>> assert ({index} ==" in session
    assert "AssertionError" not in session


def test_numpy_session_reports_a_false_assert():
    """A wrong rule is counted and shown, not silently passed and not a crash."""
    from mlseries.course.ch01.numpy_basics import Session

    class Quiet:
        def log(self, message):
            pass

    s = Session(Quiet(), {"np": np})
    s.check("np.arange(3).sum() == 3")
    s.check("np.arange(3).sum() == 4")
    s.raises("np.ones(2) + np.ones(3)", ValueError)
    s.raises("np.ones(2) + np.ones(2)", ValueError)
    assert s.asserts == 4
    assert s.failed == ["np.arange(3).sum() == 4", "np.ones(2) + np.ones(2) should raise ValueError"]


# ---------------------------------------------------------------- ch02.data

def test_data_becomes_tensors_of_the_right_shapes(runs):
    out, _, record, _ = runs("ch02.data")
    m = record["metrics"]
    assert m["text_tensor_shape"][0] == 4 and m["vocabulary"] > 1000
    assert m["image_tensor_shape"][1:] == [1, 28, 28] and m["photo_tensor_shape"] == [3, 427, 640]
    assert m["audio_tensor_shape"][:2] == [1, 513]
    assert m["table_tensor_shape"] == [142, 13]
    assert abs(m["image_z_mean"]) < 1e-3 and abs(m["image_z_std"] - 1) < 1e-3
    assert m["audio_peak_error_hz"] <= m["audio_bin_hz"]
    assert (m["table_minmax_min"], m["table_minmax_max"]) == (0.0, 1.0)
    assert m["table_z_max_abs_mean"] < 1e-12 and m["table_z_max_std_error"] < 1e-12
    assert {"text.png", "images.png", "audio.png", "tabular.png", "chord.wav"} <= set(record["files"])
    assert (out / "chord.wav").stat().st_size > 16_000


def test_audio_pieces(tmp_path):
    from mlseries.course.ch02 import data_audio as audio

    rate = audio.SAMPLE_RATE
    tone = np.sin(2 * np.pi * 440.0 * np.arange(rate) / rate)  # one second of A4
    framed = audio.frames(tone, 1024, 256)
    assert framed.shape == (1 + (rate - 1024) // 256, 1024)
    assert np.array_equal(framed[3], tone[3 * 256:3 * 256 + 1024])
    spec = audio.spectrogram(framed)
    freqs = np.fft.rfftfreq(1024, 1 / rate)
    assert abs(audio.spectrum_peaks(spec[5], freqs, 1)[0] - 440.0) < 1.0
    audio.write_wav(tmp_path / "a.wav", tone * 0.5)
    back = audio.read_wav(tmp_path / "a.wav")
    assert np.max(np.abs(back - tone * 0.5)) <= 0.5 / 32767 + 1e-12


# ---------------------------------------------------------------- ch04.derivatives

def test_derivatives_match_finite_differences(runs):
    out, _, record, _ = runs("ch04.derivatives")
    m = record["metrics"]
    assert m["max_abs_error"] <= 1e-6
    errors = {k: v for k, v in m.items() if k.startswith("error_")}
    assert len(errors) == m["derivatives_checked"] >= 12
    assert max(errors.values()) == m["max_abs_error"]
    table = (out / "derivative_checks.csv").read_text(encoding="utf-8").splitlines()
    assert len(table) == 1 + m["derivatives_checked"]


def test_derivative_formulas_on_known_values():
    from mlseries.course.ch04 import derivatives as d

    assert d.d_sigmoid(np.array(0.0)) == pytest.approx(0.25)
    assert d.d_tanh(np.array(0.0)) == pytest.approx(1.0)
    jac = d.softmax_jacobian(np.zeros(4))
    assert np.allclose(jac.sum(axis=0), 0.0)  # softmax outputs always sum to 1
    # the seed's "y_pred - y_true" is the derivative in the logit
    z, y = np.array([0.3, -1.2]), np.array([1.0, 0.0])
    assert np.allclose(d.d_bce_logits(z, y), (d.sigmoid(z) - y) / 2)


# ---------------------------------------------------------------- ch04.dnn

def test_dnn_reaches_the_targets(runs):
    _, _, record, _ = runs("ch04.dnn")
    m = record["metrics"]
    assert m["moons_test_accuracy"] >= 0.97
    assert m["max_grad_gap"] <= 1e-8
    assert m["gap_221_hand_vs_numeric"] <= 1e-6
    assert m["moons_engine_loss"] == pytest.approx(m["moons_train_loss"], abs=1e-12)
    assert 1 <= m["xor_solved"] <= m["xor_starts"]


def test_dnn_backward_matches_autograd_on_a_fresh_network():
    from mlseries.course.ch04 import dnn

    rng = np.random.default_rng(3)
    params = dnn.init_params((3, 5, 4, 1), rng)
    x = rng.normal(size=(7, 3))
    y = (rng.uniform(size=(7, 1)) > 0.5).astype(np.float64)
    for hidden in ("sigmoid", "tanh"):
        hand = dnn.backward(params, dnn.forward(params, x, hidden), y, hidden)
        loss, auto = dnn.engine_gradients(params, x, y, hidden)
        assert dnn.max_gap(hand, auto) <= 1e-12
        assert loss == pytest.approx(dnn.bce(dnn.predict(params, x, hidden), y), abs=1e-12)


def test_lessons_resolve_by_chapter_and_track():
    for lesson_id in LESSONS:
        lesson = course.get(lesson_id)
        assert lesson in course.resolve(lesson.chapter)
    assert [les.id for les in course.resolve("day1")] == ["ch01.numpy"]
    assert [les.id for les in course.resolve("day4")] == ["ch04.derivatives", "ch04.dnn"]
    ch01 = [les.id for les in course.resolve("ch01")]
    assert ch01.index("ch01.functions") < ch01.index("ch01.numpy") < ch01.index("ch01.line")
