"""`torch.nn.modules.transformer`: the Transformer layers, re-exported from where the engine keeps them."""
from ..transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,  # noqa: F401
                           TransformerEncoderLayer)
