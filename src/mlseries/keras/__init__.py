"""A Keras-style API on the mlseries engine (chapter 3: 分类问题：Keras 求解).

Keras code runs with only its import changed:

    from mlseries import keras
    from mlseries.keras import initializers, optimizers

    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(2,)))
    model.add(keras.layers.Dense(units=1, activation='sigmoid',
                                 kernel_initializer=initializers.Constant(0.0),
                                 bias_initializer=initializers.Constant(1.0)))
    model.summary()
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.Adam(learning_rate=0.01), metrics=['accuracy'])
    model.fit(x, y, epochs=5, batch_size=1)

Everything here is a thin layer over the engine: layers hold `ms.nn` modules, optimizers
drive `ms.optim`, gradients come from the engine's autograd. There is no second engine.
What exists: Sequential models of Input, Dense, Flatten, Reshape, Dropout and Activation
layers; the common initializers, losses, metrics, optimizers and callbacks.
"""
from . import (activations, callbacks, datasets, initializers, layers, losses, metrics, optimizers,
               utils)
from .layers import Input
from .models import Model, Sequential
from . import models  # noqa: E402  (keras.models.Sequential)

__all__ = ["Input", "Model", "Sequential", "activations", "callbacks", "datasets", "initializers",
           "layers", "losses", "metrics", "models", "optimizers", "utils"]
