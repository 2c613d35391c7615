"""`torch.backends`: switches for GPU and vendor libraries, answering as a machine without them.

The flags programs set (`cudnn.benchmark = True`, `cuda.matmul.allow_tf32 = True`, ...) are plain
attributes that can be read and written and change nothing: mlseries' computation runs on NumPy.
"""
from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: F401
