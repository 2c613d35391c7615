"""HW12 强化学习 / reinforcement learning: landing gymnasium's LunarLander with policy gradients."""
from . import lander  # noqa: F401
