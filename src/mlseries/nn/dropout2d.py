"""`Dropout2d`: drop whole feature maps (channels) while training; identity in eval()."""
from . import functional as F
from .dropout import Dropout


class Dropout2d(Dropout):
    """Like Dropout (same p, inplace and repr), but each (sample, channel) map is kept or zeroed whole."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)
