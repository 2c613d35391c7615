"""ch06.train's four trainers of one network: hand-written NumPy, the engine, PyTorch, JAX.

Every trainer takes the same initial weights (a list of (W (out, in), b (out,)) float32 arrays,
PyTorch's layout) and the same learning rate, and offers the same two calls:

    loss = trainer.step(x, y)     # one Adam step on a batch: x float32 (B, 784), y int64 (B,)
    logits = trainer.logits(x)    # NumPy (N, 10), no gradient
    trainer.warm_up(x, y)         # compile ahead of timing (JAX); changes nothing

so the lesson can feed all four the same batches in the same order. A framework that is not
installed raises ImportError when its trainer is built; `FRAMEWORKS` lists them in table order.
Each also has `state_dict()` / `load_state_dict()` (weights and optimiser state as NumPy arrays),
so an interrupted run can be resumed exactly (`mlseries run ch06.train --resume`).
"""
import importlib
import math

import numpy as np

SIZES = (784, 512, 512, 10)   # seed 003's MLP: 784-512-512-10
BETAS, EPS = (0.9, 0.999), 1e-8   # Adam's defaults in every framework


def init_weights(rng, sizes=SIZES):
    """[(W (out, in), b (out,)), ...] drawn once, uniform in ±1/√fan_in as PyTorch's nn.Linear."""
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        weights.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                        rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return weights


# ---------------------------------------------------------------- 1. NumPy, backward by hand

class _Framework:
    """What the lesson asks of every trainer besides step() and logits()."""

    module = None     # the framework's import name: a missing one raises ImportError

    @classmethod
    def _import(cls):
        return importlib.import_module(cls.module)

    @classmethod
    def version(cls):
        return cls._import().__version__

    def warm_up(self, x, y):
        """Prepare for timing without changing the training state (only JAX has work here)."""

    def set_lr(self, lr):
        """The learning rate for the steps that follow (the lesson lowers it epoch by epoch)."""
        self.lr = lr


class NumpyTrainer(_Framework):
    """The network, its gradient and Adam written out in NumPy: what every framework automates."""

    name = "NumPy (by hand)"
    module = "numpy"

    def __init__(self, weights, lr):
        self.params = [a.copy() for pair in weights for a in pair]   # W1, b1, W2, b2, W3, b3
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.lr, self.t = lr, 0

    def _forward(self, x):
        """Logits and what backward needs: each layer's input (activations after ReLU)."""
        W1, b1, W2, b2, W3, b3 = self.params
        a1 = np.maximum(x @ W1.T + b1, 0)       # (B, 512)
        a2 = np.maximum(a1 @ W2.T + b2, 0)      # (B, 512)
        return a2 @ W3.T + b3, (a1, a2)         # (B, 10)

    def gradients(self, x, y):
        """The loss and its gradient with respect to every parameter, by the chain rule."""
        W2, W3 = self.params[2], self.params[4]
        z, (a1, a2) = self._forward(x)
        n = len(y)
        # softmax cross-entropy; shifting by the row maximum keeps exp() from overflowing
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))   # (B, 10)
        loss = -logp[np.arange(n), y].mean()
        # backward: ∂loss/∂z = (softmax − one_hot) / B, then the chain rule layer by layer
        dz = np.exp(logp)
        dz[np.arange(n), y] -= 1.0
        dz /= n                                  # (B, 10)
        da2 = dz @ W3                            # (B, 512)
        da2 *= a2 > 0                            # ReLU passes the gradient where it was active
        da1 = da2 @ W2                           # (B, 512)
        da1 *= a1 > 0
        return float(loss), [da1.T @ x, da1.sum(0), da2.T @ a1, da2.sum(0), dz.T @ a2, dz.sum(0)]

    def step(self, x, y):
        loss, grads = self.gradients(x, y)
        self._adam(grads)
        return loss

    def _adam(self, grads):
        """Adam in place, written exactly as PyTorch computes it (so the four runs stay together)."""
        self.t += 1
        (b1, b2), t = BETAS, self.t
        step_size = self.lr / (1 - b1 ** t)
        root_bc2 = math.sqrt(1 - b2 ** t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * g * g
            p -= step_size * m / (np.sqrt(v) / root_bc2 + EPS)

    def logits(self, x):
        return self._forward(x)[0]

    def state_dict(self):
        return {"params": self.params, "m": self.m, "v": self.v, "t": self.t}

    def load_state_dict(self, state):
        for mine, saved in ((self.params, state["params"]), (self.m, state["m"]), (self.v, state["v"])):
            for a, b in zip(mine, saved):
                a[...] = b
        self.t = int(state["t"])


# ---------------------------------------------------------------- 2. the engine and PyTorch

def _mlp(nn, weights, tensor):
    """Linear-ReLU-Linear-ReLU-Linear in a PyTorch-like framework, loaded with `weights`."""
    layers = []
    for W, _ in weights:
        layers += [nn.Linear(W.shape[1], W.shape[0]), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    for layer, (W, b) in zip(model[::2], weights):
        layer.weight.data.copy_(tensor(W))
        layer.bias.data.copy_(tensor(b))
    return model


class _TorchLike(_Framework):
    """The same training step for the engine and for PyTorch: the engine speaks PyTorch."""

    def __init__(self, weights, lr):
        self.lib = lib = self._import()
        self.model = _mlp(lib.nn, weights, lib.tensor)
        self.opt = lib.optim.Adam(self.model.parameters(), lr=lr, betas=BETAS, eps=EPS)
        self.loss_fn = lib.nn.CrossEntropyLoss()

    def set_lr(self, lr):
        for group in self.opt.param_groups:
            group["lr"] = lr

    def step(self, x, y):
        loss = self.loss_fn(self.model(self.lib.from_numpy(x)), self.lib.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def logits(self, x):
        with self.lib.no_grad():
            return self.model(self.lib.from_numpy(x)).numpy()

    def _convert(self, value, to_numpy):
        """State dicts with the library's tensors <-> NumPy arrays (what checkpoints hold)."""
        if isinstance(value, dict):
            return {k: self._convert(v, to_numpy) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._convert(v, to_numpy) for v in value)
        if to_numpy and isinstance(value, self.lib.Tensor):
            return value.detach().numpy().copy()
        if not to_numpy and isinstance(value, np.ndarray):
            return self.lib.from_numpy(value.copy())
        return value

    def state_dict(self):
        return self._convert({"model": self.model.state_dict(), "opt": self.opt.state_dict()}, True)

    def load_state_dict(self, state):
        state = self._convert(state, False)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])


class EngineTrainer(_TorchLike):
    name = "mlseries (this engine)"
    module = "mlseries"


class TorchTrainer(_TorchLike):
    name = "PyTorch"
    module = "torch"


# ---------------------------------------------------------------- 3. JAX: functions, not objects

class JaxTrainer(_Framework):
    """JAX has no modules or optimiser objects: the model is a function of a parameter list,
    the gradient is `jax.grad` of the loss function, and the whole step is compiled by `jax.jit`."""

    name = "JAX"
    module = "jax"

    def __init__(self, weights, lr):
        jax = self._import()
        jnp = jax.numpy
        self.jnp = jnp
        self.params = [jnp.asarray(a) for pair in weights for a in pair]
        self.m = [jnp.zeros_like(p) for p in self.params]
        self.v = [jnp.zeros_like(p) for p in self.params]
        self.lr, self.t = lr, 0

        def forward(params, x):
            W1, b1, W2, b2, W3, b3 = params
            a1 = jax.nn.relu(x @ W1.T + b1)       # (B, 512)
            a2 = jax.nn.relu(a1 @ W2.T + b2)      # (B, 512)
            return a2 @ W3.T + b3                 # (B, 10)

        def loss_fn(params, x, y):
            logp = jax.nn.log_softmax(forward(params, x))
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def step(params, m, v, step_size, root_bc2, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            b1, b2 = BETAS
            m = [mi + (1 - b1) * (g - mi) for mi, g in zip(m, grads)]
            v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
            params = [p - step_size * mi / (jnp.sqrt(vi) / root_bc2 + EPS)
                      for p, mi, vi in zip(params, m, v)]
            return params, m, v, loss

        self._step = jax.jit(step)
        self._forward = jax.jit(forward)

    def warm_up(self, x, y):
        """Compile the step and the forward pass for these shapes. The step is a pure function,
        so calling it and dropping the result leaves the training state as it was."""
        self._step(self.params, self.m, self.v, np.float32(1), np.float32(1), x, y)
        self._forward(self.params, x)

    def step(self, x, y):
        self.t += 1
        # The bias corrections in float64 on the host, as PyTorch does: 1 − 0.999ᵗ computed in
        # float32 inside the compiled step is off by 1e-5 and the runs drift apart visibly.
        (b1, b2), t = BETAS, self.t
        step_size = np.float32(self.lr / (1 - b1 ** t))
        root_bc2 = np.float32(math.sqrt(1 - b2 ** t))
        self.params, self.m, self.v, loss = self._step(self.params, self.m, self.v, step_size,
                                                       root_bc2, x, y)
        return float(loss)

    def logits(self, x):
        return np.asarray(self._forward(self.params, x))

    def state_dict(self):
        return {"params": [np.asarray(p) for p in self.params], "m": [np.asarray(a) for a in self.m],
                "v": [np.asarray(a) for a in self.v], "t": self.t}

    def load_state_dict(self, state):
        self.params, self.m, self.v = ([self.jnp.asarray(a) for a in state[k]] for k in ("params", "m", "v"))
        self.t = int(state["t"])


FRAMEWORKS = (NumpyTrainer, EngineTrainer, TorchTrainer, JaxTrainer)
