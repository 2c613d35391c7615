"""Random numbers: one default generator (the only global state the engine keeps), and
`Generator` objects for code that wants its own stream."""
import numpy as np


class Generator:
    """A seedable stream of random numbers (wraps NumPy's PCG64)."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    @property
    def numpy(self):
        """The underlying np.random.Generator, for code that needs NumPy's distributions."""
        return self._rng


default_generator = Generator().manual_seed(0)


def manual_seed(seed):
    """Seed the default generator: the same seed gives the same initial weights, data order and dropout."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator=None):
    """The NumPy generator behind `generator` (or the default one)."""
    if generator is None:
        return default_generator._rng
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a mlseries.Generator, got {type(generator).__name__}")
