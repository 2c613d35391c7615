"""`torch.backends.mkldnn`: mlseries does not use oneDNN (its arithmetic is NumPy's), so it
reports the library as unavailable; `enabled` can be set and changes nothing."""
enabled = True
deterministic = False


def is_available():
    return False
