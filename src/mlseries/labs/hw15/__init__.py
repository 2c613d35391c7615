"""HW15 元学习 / meta-learning: MAML, first-order MAML and ANIL against a pre-training baseline, on
sinusoid regression and 5-way 1-shot rendered characters."""
from . import meta  # noqa: F401
