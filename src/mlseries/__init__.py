"""mlseries: a NumPy deep-learning engine with PyTorch names, and the Machine Learning Series on it."""
