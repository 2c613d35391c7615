"""Normal(loc, scale): the Gaussian, with reparameterised sampling (loc + scale·ε), the form
VAEs and Gaussian policies differentiate through."""
import math

from .._tensor import Size
from .._functions_more import erfinv
from .distribution import LocScale
from .utils import standard_normal

__all__ = ["Normal"]


class Normal(LocScale):
    """A Gaussian of mean `loc` and standard deviation `scale` (broadcast together)."""

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=Size()):
        eps = standard_normal(self._extended_shape(sample_shape), self.loc)  # sample + batch shape
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value):
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
