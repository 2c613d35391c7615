"""The Keras-style API: the seed's chapter-3 snippets run verbatim, and its numbers are the engine's."""
import re
import warnings

import numpy as np
import pytest
import torch

import mlseries as ms
from mlseries import keras, nn
from mlseries.datasets import DataFallbackWarning
from mlseries.keras import callbacks, initializers, layers, losses, metrics, optimizers

torch.set_num_threads(1)

# The seed README's two chapter-3 snippets, character for character; only the imports are ours.
SEED_BINARY = """
    rng = numpy.random.default_rng(seed=0)
    input = rng.standard_normal((200, 2))
    output = numpy.array([1 if x + y > 0 else 0 for x, y in input])
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(2,)))
    model.add(keras.layers.Dense(units=1, activation='sigmoid',
                                 kernel_initializer=initializers.Constant(0.0),
                                 bias_initializer=initializers.Constant(1.0)))
    model.summary()
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.Adam(learning_rate=0.01), metrics=['accuracy'])
    model.fit(input, output, epochs=5, batch_size=1)
"""

SEED_MNIST = """
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = keras.models.Sequential([
        keras.layers.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation='relu'),
        keras.layers.Dense(10, activation='softmax')
    ])
    model.summary()
    model.compile(optimizer='adam',
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=['accuracy'])
    model.fit(x_train, y_train)
    model.evaluate(x_test, y_test)
"""


def run_snippet(snippet, imports):
    """Run an indented seed snippet after `imports`; return its variables."""
    source = imports + "\n" + "\n".join(line[4:] for line in snippet.strip("\n").splitlines())
    scope = {}
    exec(compile(source, "<seed snippet>", "exec"), scope)
    return scope


@pytest.fixture(autouse=True)
def seeded():
    ms.manual_seed(0)


# ---------------------------------------------------------------- the seed's snippets

def test_seed_binary_snippet_runs_and_separates_the_points(capsys):
    scope = run_snippet(SEED_BINARY, "import numpy\nfrom mlseries import keras\n"
                                     "from mlseries.keras import initializers, optimizers")
    out = capsys.readouterr().out
    assert re.search(r"dense \(Dense\) +\(None, 1\) +3\n", out)
    assert "Total params: 3 (12.00 B)" in out
    assert out.count("200/200 [==============================]") == 5  # one bar per epoch
    model, x, y = scope["model"], scope["input"], scope["output"]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy >= 0.98
    assert model.history.history["accuracy"][-1] >= 0.97
    w, b = model.get_weights()
    assert w.shape == (2, 1) and b.shape == (1,)
    # the learned line w1·x + w2·y + b = 0 is close to the true one, x + y = 0
    assert abs(w[0, 0] / w[1, 0] - 1) < 0.1 and abs(b[0] / w[0, 0]) < 0.1


def test_seed_mnist_snippet_runs(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataFallbackWarning)
        scope = run_snippet(SEED_MNIST, "from mlseries import keras")
    out = capsys.readouterr().out
    assert re.search(r"flatten \(Flatten\) +\(None, 784\) +0\n", out)
    assert re.search(r"dense \(Dense\) +\(None, 64\) +50,240\n", out)
    assert re.search(r"dense_1 \(Dense\) +\(None, 10\) +650\n", out)
    assert "Total params: 50,890 (198.79 KB)" in out
    model = scope["model"]
    _, accuracy = model.evaluate(scope["x_test"], scope["y_test"], verbose=0)
    assert accuracy > 0.8  # one epoch with Keras's defaults (batch 32, Adam 1e-3)


# ---------------------------------------------------------------- layers are the engine's modules

def test_dense_matches_the_engines_linear_with_the_same_weights():
    dense = layers.Dense(5, activation="relu")
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out = dense(x)
    linear = nn.Linear(3, 5)
    assert dense.count_params() == sum(p.numel() for p in linear.parameters()) == 3 * 5 + 5
    kernel, bias = dense.get_weights()
    assert kernel.shape == (3, 5)  # Keras's layout: (inputs, units)
    with ms.no_grad():
        linear.weight.copy_(kernel.T)
        linear.bias.copy_(bias)
    expected = nn.functional.relu(linear(ms.tensor(x)))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_array_equal(dense.kernel.numpy(), kernel)


def test_dense_builds_lazily_from_the_input_shape():
    dense = layers.Dense(7)
    assert not dense.built
    with pytest.raises(ValueError, match="not built yet"):
        dense.count_params()
    dense(np.zeros((2, 4, 3), np.float32))  # Dense acts on the last axis
    assert dense.built and dense.input_shape == (None, 4, 3) and dense.output_shape == (None, 4, 7)
    assert dense.count_params() == 3 * 7 + 7


def test_initializers_follow_keras_formulas():
    shape = (300, 200)
    glorot = initializers.GlorotUniform(seed=1)(shape).numpy()
    limit = np.sqrt(6 / (300 + 200))
    assert glorot.shape == shape and glorot.dtype == np.float32
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.99 * limit
    he = initializers.HeNormal(seed=1)(shape).numpy()
    assert he.std() == pytest.approx(np.sqrt(2 / 300), rel=0.03)   # fan_in is the first axis
    assert np.abs(he).max() <= 2 * np.sqrt(2 / 300) / 0.87962566103423978 + 1e-6
    np.testing.assert_array_equal(initializers.GlorotUniform(seed=1)(shape).numpy(), glorot)
    np.testing.assert_array_equal(initializers.Constant(0.5)((2, 2)).numpy(), np.full((2, 2), 0.5))
    assert initializers.get("zeros")((3,)).numpy().tolist() == [0, 0, 0]
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer=initializers.Constant(3.0))
    dense(np.zeros((1, 4), np.float32))
    kernel, bias = dense.get_weights()
    assert (kernel == 1).all() and (bias == 3).all()


def test_weights_round_trip(tmp_path):
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 1), (1,)]
    changed = [w + 1 for w in weights]
    model.set_weights(changed)
    for a, b in zip(model.get_weights(), changed):
        np.testing.assert_array_equal(a, b)
    model.save_weights(tmp_path / "w.npz")
    other = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    other.load_weights(tmp_path / "w.npz")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="has 4 weight arrays, got 3"):
        model.set_weights(changed[:3])


def test_summary_text():
    model = keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(64, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(10, activation="softmax")], name="mnist_mlp")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0].splitlines() == [
        'Model: "mnist_mlp"',
        "_" * 65,
        "Layer (type)                 Output Shape              Param #",
        "=" * 65,
        "flatten (Flatten)            (None, 784)               0",
        "_" * 65,
        "dense (Dense)                (None, 64)                50,240",
        "_" * 65,
        "dropout (Dropout)            (None, 64)                0",
        "_" * 65,
        "dense_1 (Dense)              (None, 10)                650",
        "=" * 65,
        "Total params: 50,890 (198.79 KB)",
        "Trainable params: 50,890 (198.79 KB)",
        "Non-trainable params: 0 (0.00 B)",
        "_" * 65,
    ]
    model.layers[1].trainable = False
    text = []
    model.summary(print_fn=text.append)
    assert "Trainable params: 650 (2.54 KB)" in text[0] and "Non-trainable params: 50,240" in text[0]


def test_summary_of_an_unbuilt_model_then_built_by_fit():
    model = keras.Sequential([layers.Dense(3), layers.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    assert "dense (Dense)                ?                         0 (unbuilt)" in lines[0]
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 5)), np.zeros(8), verbose=0)
    assert model.count_params() == 5 * 3 + 3 + 3 + 1


# ---------------------------------------------------------------- training

def two_blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 2)) + np.where(y[:, None] == 1, 1.0, -1.0)
    return x.astype(np.float32), y


def test_logistic_regression_reaches_the_optimal_accuracy():
    """Two unit Gaussians at (±1, ±1): the best line is x + y = 0, right with probability
    Φ(√2) = 0.921. A Dense(1, sigmoid) fit lands within noise of it."""
    x, y = two_blobs(4000)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    best = float(np.mean((x.sum(axis=1) > 0) == y))
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert abs(best - 0.921) < 0.015
    assert accuracy >= best - 0.005
    w, b = model.get_weights()
    assert abs(w[0, 0] / w[1, 0] - 1) < 0.15 and abs(b[0]) < 0.2


def test_fit_equals_the_same_loop_in_pytorch():
    """No shuffling, same initial weights: Keras-style fit and a hand-written PyTorch loop
    (BCE on logits, Adam with Keras's epsilon) end at the same weights."""
    x, y = two_blobs(120)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(4, activation="tanh"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy")
    w1, b1, w2, b2 = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    model.fit(x, y, epochs=3, batch_size=10, shuffle=False, verbose=0)
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=0.01, eps=1e-7)
    xt, yt = torch.tensor(x), torch.tensor(y, dtype=torch.float32)[:, None]
    for _ in range(3):
        for i in range(0, len(x), 10):
            opt.zero_grad()
            logits = torch.tanh(xt[i:i + 10] @ w1 + b1) @ w2 + b2
            torch.nn.functional.binary_cross_entropy_with_logits(logits, yt[i:i + 10]).backward()
            opt.step()
    for ours, theirs in zip(model.get_weights(), (w1, b1, w2, b2)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=2e-5)


def test_history_and_validation_split_takes_the_last_fraction():
    x, y = two_blobs(200)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history.epoch == [0, 1] and all(len(v) == 2 for v in history.history.values())
    val_loss, val_accuracy = model.evaluate(x[150:], y[150:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    same = model.fit(x[:150], y[:150], validation_data=(x[150:], y[150:]), verbose=0, epochs=1)
    assert set(same.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_same_seed_same_training_shuffle_changes_it():
    x, y = two_blobs(100)

    def train(seed, shuffle=True):
        ms.manual_seed(seed)
        model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(3, activation="relu"), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=shuffle, verbose=0)
        return np.concatenate([w.ravel() for w in model.get_weights()])

    np.testing.assert_array_equal(train(3), train(3))
    assert not np.allclose(train(3), train(4))
    ms.manual_seed(3)
    assert not np.allclose(train(3, shuffle=False), train(3))


def test_loss_values_match_keras_definitions():
    y_true = np.array([[1.0], [0.0], [1.0]])
    p = np.array([[0.9], [0.2], [0.6]], np.float32)
    expected = -np.mean(np.log([0.9, 0.8, 0.6]))
    assert losses.BinaryCrossentropy()(y_true, p).item() == pytest.approx(expected, rel=1e-6)
    assert losses.get("binary_crossentropy")(y_true[:, 0], p).item() == pytest.approx(expected, rel=1e-6)
    scores = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32)
    probs = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    ce = -np.mean(np.log(probs[[0, 1], [0, 2]]))
    assert losses.SparseCategoricalCrossentropy()([0, 2], probs).item() == pytest.approx(ce, rel=1e-5)
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert from_logits([0, 2], scores).item() == pytest.approx(ce, rel=1e-5)
    assert losses.CategoricalCrossentropy()([[1, 0, 0], [0, 0, 1]], probs).item() == pytest.approx(ce, rel=1e-5)
    assert losses.MeanSquaredError()([1.0, 2.0], np.array([[1.5], [2.0]])).item() == pytest.approx(0.125)
    # a saturated probability gives Keras's clipped value, not infinity
    assert losses.BinaryCrossentropy()([[1.0]], np.array([[0.0]], np.float32)).item() == pytest.approx(
        -np.log(1e-7), rel=1e-3)


def test_accuracy_picks_its_kind_from_the_shapes():
    assert isinstance(metrics.get("accuracy", np.zeros(4), np.zeros((4, 1))), metrics.BinaryAccuracy)
    assert isinstance(metrics.get("accuracy", np.zeros(4), np.zeros((4, 3))), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("accuracy", np.zeros((4, 3)), np.zeros((4, 3))), metrics.CategoricalAccuracy)
    acc = metrics.BinaryAccuracy()
    acc.update_state([1, 0, 1, 1], np.array([[0.7], [0.4], [0.2], [0.9]]))
    assert acc.result() == 0.75
    acc.update_state([0, 0, 0, 0], np.zeros((4, 1)))
    assert acc.result() == pytest.approx(7 / 8)


def test_softmax_model_trains_with_sparse_and_one_hot_targets():
    x, y = two_blobs(300)
    for loss, targets in (("sparse_categorical_crossentropy", y),
                          ("categorical_crossentropy", keras.utils.to_categorical(y, 2))):
        model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(2, activation="softmax")])
        model.compile(optimizer=optimizers.Adam(0.05), loss=loss, metrics=["accuracy"])
        model.fit(x, targets, epochs=3, verbose=0)
        _, accuracy = model.evaluate(x, targets, verbose=0)
        assert accuracy > 0.88
        assert model.predict(x[:5], verbose=0).sum(axis=1) == pytest.approx(np.ones(5), abs=1e-6)


def test_dropout_only_while_training():
    model = keras.Sequential([keras.Input(shape=(50,)), layers.Dropout(0.5)])
    x = np.ones((4, 50), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    dropped = model(x, training=True).numpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0} and 0.3 < (dropped == 0).mean() < 0.7
    seeded = layers.Dropout(0.5, seed=7)
    first = seeded(x, training=True).numpy()
    assert np.array_equal(first, layers.Dropout(0.5, seed=7)(x, training=True).numpy())


def test_callbacks_see_every_batch_and_early_stopping_restores_the_best():
    x, y = two_blobs(64)
    seen = []
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [0, 1, 2, 3, 0, 1, 2, 3]

    class Worse(callbacks.Callback):  # feeds EarlyStopping a val_loss that is best at epoch 1
        def on_epoch_end(self, epoch, logs):
            logs["val_loss"] = [3.0, 1.0, 2.0, 2.5, 2.7, 2.9][epoch]
            weights_at[epoch] = self.model.get_weights()

    weights_at = {}
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[Worse(), stop])
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3
    for a, b in zip(model.get_weights(), weights_at[1]):
        np.testing.assert_array_equal(a, b)


def test_keras_sgd_momentum_is_kerass_update_rule():
    """v = m·v − lr·g; w += v, applied through apply_gradients on an engine tensor."""
    w = ms.tensor([1.0, -2.0], requires_grad=True)
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    ref, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(5):
        loss = (w ** 2).sum()
        (g,) = ms.autograd.grad(loss, [w])
        opt.apply_gradients([(g, w)])
        v = 0.9 * v - 0.1 * 2 * ref
        ref = ref + v
    np.testing.assert_allclose(w.detach().numpy(), ref, rtol=1e-6)
    assert opt.iterations == 5
    opt.learning_rate = 0.01
    assert opt.engine.param_groups[0]["lr"] == 0.01


def test_progress_output(capsys):
    x, y = two_blobs(40)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=10, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert re.fullmatch(r"4/4 \[=+\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}", out[1])
    model.fit(x, y, epochs=1, verbose=2)
    assert re.fullmatch(r"2/2 - \d+s - \d+(us|ms|s)/step - loss: \S+ - accuracy: \S+\n", capsys.readouterr().out)
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- errors in the user's terms

def test_unknown_names_list_the_known_ones():
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"unknown loss 'binary_cross_entropy'; known names: "
                                         r"binary_crossentropy, categorical_crossentropy"):
        model.compile(optimizer="adam", loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'; known names: sgd, rmsprop, adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; known names: .*accuracy"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="unknown activation 'rellu'; known names: .*relu"):
        layers.Dense(3, activation="rellu")
    with pytest.raises(ValueError, match="unknown initializer 'glorot'; known names: .*glorot_uniform"):
        layers.Dense(3, kernel_initializer="glorot")


def test_misuse_gets_clear_errors():
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    x, y = two_blobs(20)
    with pytest.raises(RuntimeError, match=r"call model.compile\(optimizer=..., loss=...\) before fit"):
        model.fit(x, y)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 2\) .* of shape \(20, 3\)"):
        model.fit(np.zeros((20, 3)), y, verbose=0)
    with pytest.raises(ValueError, match="x has 20 examples but y has 19"):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match="validation_split must be between 0 and 1"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="an Input can only be the first layer"):
        model.add(keras.Input(shape=(1,)))
    with pytest.raises(ValueError, match="a layer named 'dense' is already in the model"):
        model.add(layers.Dense(2, name="dense"))
    with pytest.raises(TypeError, match="Sequential.add takes a Keras layer"):
        model.add(nn.Linear(1, 1))
    clf = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(3, activation="softmax")])
    clf.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels must be in 0..2 for 3 outputs, got labels from 0 to 5"):
        clf.fit(x, np.arange(20) % 6, verbose=0)
