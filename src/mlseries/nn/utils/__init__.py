"""`mlseries.nn.utils`: gradient clipping, parameter/vector conversion, and packed sequences (`rnn`)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from . import rnn
from . import parametrizations, parametrize, prune  # noqa: E402
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: E402
from .rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence,
                  unpack_sequence, unpad_sequence)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters", "rnn",
           "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "unpad_sequence",
           "pack_sequence", "unpack_sequence"]
__all__ += ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]
__all__ += ["prune", "parametrize", "parametrizations"]
