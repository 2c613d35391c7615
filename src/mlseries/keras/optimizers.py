"""Optimizers with Keras's names and defaults, each driving an engine optimizer (`ms.optim`).

    optimizers.Adam(learning_rate=0.01)      # Keras's arguments ...
    -> ms.optim.Adam(params, lr=0.01, eps=1e-7)   # ... run by the engine's update rule

The Keras object holds the settings; the engine optimizer is created when the object meets
its variables (at the first `fit`, or the first `apply_gradients`). Keras's defaults differ
from PyTorch's in places, and the Keras ones are used: SGD's learning rate is 0.01,
RMSprop's rho (PyTorch's alpha) is 0.9, epsilon is 1e-7, Adagrad's accumulator starts at 0.1.

Keras adds epsilon to the update at a slightly different place than PyTorch (Adam: to the
unscaled √v; RMSprop: inside the square root); with epsilon = 1e-7 the two agree to float32
precision except for gradients near zero. Momentum in Keras's form (v = m·v − lr·g; p += v)
and PyTorch's (b = m·b + g; p −= lr·b) is the same sequence of weights.
"""
import mlseries as ms
from mlseries import optim
from mlseries.nn.utils import clip_grad_norm_, clip_grad_value_


class Optimizer:
    """Base: learning rate, Keras's gradient clipping and decoupled weight decay; subclasses
    say which engine optimizer does the update (`_engine_optimizer`)."""

    default_name = "optimizer"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("give at most one of clipnorm, clipvalue and global_clipnorm")
        if not isinstance(learning_rate, (int, float)) or learning_rate < 0:
            raise ValueError(f"learning_rate must be a non-negative number, got {learning_rate!r}")
        self._learning_rate = float(learning_rate)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or self.default_name
        self.iterations = 0        # updates applied so far
        self.engine = None         # the ms.optim optimizer, once variables are known
        self._variables = []

    # -- settings ---------------------------------------------------------------------------
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)
        if self.engine is not None:
            for group in self.engine.param_groups:
                group["lr"] = self._learning_rate

    def _engine_optimizer(self, variables):
        raise NotImplementedError

    # -- binding to variables -----------------------------------------------------------------
    def build(self, variables):
        """Create the engine optimizer for `variables` (fresh state: moments start at zero)."""
        self._variables = [v for v in variables if v.requires_grad]
        if not self._variables:
            raise ValueError("the optimizer got no trainable variables (are all layers frozen?)")
        self.engine = self._engine_optimizer(self._variables)
        self.iterations = 0
        return self

    def _bound_to(self, variables):
        return self.engine is not None and [id(v) for v in variables] == [id(v) for v in self._variables]

    # -- one update -----------------------------------------------------------------------------
    def zero_grad(self):
        for v in self._variables:
            v.grad = None

    def step(self):
        """One update from the gradients in each variable's `.grad` (fit calls this)."""
        if self.clipnorm is not None:      # Keras clips each gradient by its own norm
            for v in self._variables:
                clip_grad_norm_([v], self.clipnorm)
        elif self.global_clipnorm is not None:
            clip_grad_norm_(self._variables, self.global_clipnorm)
        elif self.clipvalue is not None:
            clip_grad_value_(self._variables, self.clipvalue)
        if self.weight_decay and not self._decays_itself:
            with ms.no_grad():  # decoupled: p ← p − lr·wd·p, before the gradient step
                for v in self._variables:
                    if v.grad is not None:
                        v.mul_(1.0 - self._learning_rate * self.weight_decay)
        self.engine.step()
        self.iterations += 1

    _decays_itself = False

    def apply_gradients(self, grads_and_vars):
        """Keras's low-level API: one update from explicit (gradient, variable) pairs."""
        pairs = list(grads_and_vars)
        variables = [v for _, v in pairs]
        if not self._bound_to(variables):
            self.build(variables)
        for grad, v in pairs:
            v.grad = None if grad is None else ms.as_tensor(grad).to(v.dtype)
        self.step()
        return self.iterations

    def apply(self, grads, trainable_variables):
        return self.apply_gradients(zip(grads, trainable_variables))

    def get_config(self):
        return {"name": self.name, "learning_rate": self._learning_rate, "weight_decay": self.weight_decay}

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate})"


class SGD(Optimizer):
    default_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = momentum, nesterov

    def _engine_optimizer(self, variables):
        return optim.SGD(variables, lr=self._learning_rate, momentum=self.momentum, nesterov=self.nesterov)


class RMSprop(Optimizer):
    default_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _engine_optimizer(self, variables):
        return optim.RMSprop(variables, lr=self._learning_rate, alpha=self.rho, eps=self.epsilon,
                             momentum=self.momentum, centered=self.centered)


class Adam(Optimizer):
    default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _engine_optimizer(self, variables):
        return optim.Adam(variables, lr=self._learning_rate, betas=(self.beta_1, self.beta_2),
                          eps=self.epsilon, amsgrad=self.amsgrad)


class AdamW(Adam):
    default_name = "adamw"
    _decays_itself = True  # the engine's AdamW applies the same decoupled decay

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)

    def _engine_optimizer(self, variables):
        return optim.AdamW(variables, lr=self._learning_rate, betas=(self.beta_1, self.beta_2),
                           eps=self.epsilon, weight_decay=self.weight_decay, amsgrad=self.amsgrad)


class Adagrad(Optimizer):
    default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _engine_optimizer(self, variables):
        return optim.Adagrad(variables, lr=self._learning_rate,
                             initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon)


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad}
_BY_NAME.update({cls.__name__: cls for cls in list(_BY_NAME.values())})


def get(identifier):
    """An Optimizer from a name ('adam', 'sgd', ...), an instance or a class."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    known = ", ".join(k for k in _BY_NAME if k.islower())
    raise ValueError(f"unknown optimizer {identifier!r}; known names: {known} "
                     "(or an instance such as optimizers.Adam(learning_rate=0.01))")
