"""Categorical and OneHotCategorical: one of K classes, from probabilities or logits over the
last dimension (what a policy network's softmax head feeds in REINFORCE and PPO)."""
import numpy as np

from .. import _factories as fn
from .._grad_mode import no_grad
from .._tensor import Size, Tensor
from ..random import _gen
from . import constraints
from .distribution import Distribution, _as_size
from .utils import finfo_min, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical"]


def _draw_categorical(probs, n):
    """n class indices for each row of probs (rows, K), by inverse CDF on the engine's generator.

    All rows are searched at once: row r's cumulative sums are shifted by r so that the rows lie
    one after another on [0, rows], and one searchsorted of u + r finds every draw."""
    rows, k = probs.shape
    cdf = np.cumsum(probs.astype(np.float64), axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    offset = np.arange(rows, dtype=np.float64)[:, None]
    u = _gen().random((rows, n))  # (rows, n)
    idx = np.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right").reshape(rows, n)
    return np.minimum(idx - offset.astype(np.int64) * k, k - 1)  # (rows, n)


class Categorical(Distribution):
    """A class index in [0, K) with probabilities `probs` (normalised over the last dim) or
    log-probabilities `logits` (normalised with logsumexp). Leading dims are the batch."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if not isinstance(probs, Tensor) or probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if not isinstance(logits, Tensor) or logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = Size(self._param.shape[:-1]) if self._param.ndim > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = Size(batch_shape)
        param_shape = tuple(batch_shape) + (self._num_events,)
        self._expand_param(new, param_shape)
        new._num_events = self._num_events
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return Size(self._param.shape)

    @property
    def mean(self):
        return fn.full(self._extended_shape(), float("nan"), dtype=self._param.dtype)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return fn.full(self._extended_shape(), float("nan"), dtype=self._param.dtype)

    def sample(self, sample_shape=Size()):
        sample_shape = _as_size(sample_shape)
        with no_grad():
            probs = self.probs._data.reshape(-1, self._num_events)  # (batch, K)
            if (probs < 0).any() or not np.isfinite(probs).all():
                raise RuntimeError("Categorical.sample: probabilities must be finite and non-negative")
            draws = _draw_categorical(probs, sample_shape.numel())  # (batch, n)
            return Tensor._make(np.ascontiguousarray(draws.T).reshape(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        index = value.expand(shape[:-1] + (1,))                           # (..., 1)
        log_pmf = self.logits.expand(shape[:-1] + (self._num_events,))  # (..., K)
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self):
        # a class of probability 0 has logit -inf; clamping it keeps 0 * logit at 0 instead of NaN
        logits = self.logits.clamp(min=finfo_min(self.logits))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = fn.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


class OneHotCategorical(Distribution):
    """Categorical with each draw a one-hot vector of length K (event_shape (K,))."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = Size(self._categorical.param_shape[-1:])
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        batch_shape = Size(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return self._expanded(new, batch_shape, self.event_shape)

    @property
    def _param(self):
        return self._categorical._param

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        probs = self._categorical.probs
        return _one_hot(probs.argmax(dim=-1), probs.shape[-1], probs)

    @property
    def variance(self):
        p = self._categorical.probs
        return p * (1 - p)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    def sample(self, sample_shape=Size()):
        probs = self._categorical.probs
        return _one_hot(self._categorical.sample(sample_shape), self._categorical._num_events, probs)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(dim=-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = Tensor._make(np.eye(n, dtype=self._param._data.dtype))
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self.batch_shape) + (n,))
        return values


def _one_hot(index, k, like):
    return Tensor._make(np.eye(k, dtype=like._data.dtype)[index._data])
