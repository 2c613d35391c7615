"""`torch.nn.modules.distance`: CosineSimilarity, PairwiseDistance, re-exported from where the engine keeps them."""
from ..distance import CosineSimilarity, PairwiseDistance  # noqa: F401
