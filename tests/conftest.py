"""One BLAS/OpenMP thread per test process.

CI runs the suite with two pytest-xdist workers on two cores. With NumPy's OpenBLAS and
PyTorch's OpenMP each starting a thread per core, four or more busy threads share two cores and
their spin-waiting makes small matrix products many times slower; one thread per worker keeps
the cores busy without that.
"""
import torch
from threadpoolctl import threadpool_limits

threadpool_limits(limits=1)
torch.set_num_threads(1)
