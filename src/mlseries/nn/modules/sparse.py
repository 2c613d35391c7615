"""`torch.nn.modules.sparse`: Embedding, EmbeddingBag, re-exported from where the engine keeps them."""
from ..sparse import Embedding  # noqa: F401
from ..embedding_bag import EmbeddingBag  # noqa: F401
