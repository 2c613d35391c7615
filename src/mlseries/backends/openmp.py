"""`torch.backends.openmp`: mlseries starts no OpenMP threads of its own."""


def is_available():
    return False
