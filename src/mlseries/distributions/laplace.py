"""Laplace(loc, scale): the double exponential, density exp(-|x - loc| / scale) / (2 scale)."""

from .._tensor import Size
from .distribution import LocScale
from .utils import finfo_eps, uniform

__all__ = ["Laplace"]


class Laplace(LocScale):
    """Density exp(−|x − loc| / scale) / (2·scale), broadcast over loc and scale."""

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=Size()):
        # inverse CDF of u on (-1, 1): the open lower end keeps log1p(-|u|) finite
        u = uniform(self._extended_shape(sample_shape), self.loc, finfo_eps(self.loc) - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
