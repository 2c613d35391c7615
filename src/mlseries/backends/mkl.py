"""`torch.backends.mkl`: mlseries does not link MKL itself (NumPy's BLAS does the products)."""


def is_available():
    return False
