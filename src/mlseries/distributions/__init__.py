"""Probability distributions with PyTorch's torch.distributions API: sampling (reparameterised
where PyTorch has rsample), log_prob, entropy, moments, argument checking, and kl_divergence.

    from mlseries.distributions import Categorical
    m = Categorical(policy(state))          # probabilities from a softmax head
    action = m.sample()
    loss = -m.log_prob(action) * reward     # REINFORCE

Samples come from the engine's default generator, so `mlseries.manual_seed` fixes them (they are
not PyTorch's numbers: the generators differ).
"""
from . import constraints
from .bernoulli import Bernoulli, Binomial
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Binomial", "Categorical", "Distribution", "Exponential", "Independent", "Laplace",
    "MultivariateNormal", "Normal", "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl",
]
