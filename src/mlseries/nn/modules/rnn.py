"""`torch.nn.modules.rnn`: the recurrent layers and cells, re-exported from where the engine keeps them."""
from ..rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
