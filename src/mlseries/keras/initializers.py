"""Weight initializers with Keras's names: `Constant(1.0)`, `Zeros()`, `GlorotUniform()`, ...

An initializer is called with a shape in Keras's layout (a Dense kernel is (inputs, units))
and returns a float32 engine tensor. The draws come from the engine's default generator, so
`mlseries.manual_seed` fixes them; an initializer built with `seed=` has its own stream and
gives the same values on every call.
"""
import math

import numpy as np

import mlseries as ms
from mlseries.nn import init


class Initializer:
    """Base class: subclasses fill `tensor` (already shaped) in `fill(tensor, generator)`."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        tensor = ms.empty(*_shape(shape), dtype=ms.float32 if dtype is None else dtype)
        generator = None if self.seed is None else ms.Generator().manual_seed(self.seed)
        self.fill(tensor, generator)
        return tensor

    def fill(self, tensor, generator):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed} if self.seed is not None else {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _shape(shape):
    return (int(shape),) if np.isscalar(shape) else tuple(int(n) for n in shape)


def compute_fans(shape):
    """(fan_in, fan_out) in Keras's layout: a kernel is (..., inputs, outputs), the leading
    dimensions (a convolution's window) multiplying both; a vector counts as its own length."""
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Constant(Initializer):
    def __init__(self, value=0.0):
        super().__init__()
        self.value = float(value)

    def fill(self, tensor, generator):
        init.constant_(tensor, self.value)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def fill(self, tensor, generator):
        init.normal_(tensor, self.mean, self.stddev, generator=generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) cut at two standard deviations either side."""

    def fill(self, tensor, generator):
        init.trunc_normal_(tensor, self.mean, self.stddev, self.mean - 2 * self.stddev,
                           self.mean + 2 * self.stddev, generator=generator)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def fill(self, tensor, generator):
        init.uniform_(tensor, self.minval, self.maxval, generator=generator)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


# Keras divides by this so that a normal cut at ±2σ still has the variance asked for.
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(Initializer):
    """Draws with variance scale / n, n being fan_in, fan_out or their mean (`mode`).

    The Glorot, He and LeCun initializers are this with fixed settings; each keeps the size of
    a layer's outputs (or gradients) about the same as its inputs', whatever the layer width.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling: distribution must be 'truncated_normal', "
                             f"'untruncated_normal' or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def fill(self, tensor, generator):
        fan_in, fan_out = compute_fans(tensor.shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            init.uniform_(tensor, -limit, limit, generator=generator)
        elif self.distribution == "untruncated_normal":
            init.normal_(tensor, 0.0, math.sqrt(variance), generator=generator)
        else:
            std = math.sqrt(variance) / _TRUNCATED_STD
            init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator=generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return Initializer.get_config(self)

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "U(−a, a) with a = √(6 / (fan_in + fan_out)); Keras's default kernel initializer.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with variance 2 / (fan_in + fan_out).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "U(−a, a) with a = √(6 / fan_in), for ReLU layers.")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal with variance 2 / fan_in, for ReLU layers.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "U(−a, a) with a = √(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with variance 1 / fan_in.")

# Keras's string names (snake_case) and class names both work, e.g. 'glorot_uniform' or 'GlorotUniform'.
_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
}
_BY_NAME.update({cls.__name__: cls for cls in list(_BY_NAME.values())})

# snake_case aliases, as Keras exports them
zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal


def get(identifier):
    """An Initializer from a name ('zeros', 'GlorotUniform', ...), an instance, a class or a
    function shape -> array."""
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    known = ", ".join(sorted(k for k in _BY_NAME if k.islower()))
    raise ValueError(f"unknown initializer {identifier!r}; known names: {known} "
                     "(or an instance such as initializers.Constant(0.5))")
