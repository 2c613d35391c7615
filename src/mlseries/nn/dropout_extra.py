"""`Dropout1d`, `AlphaDropout`, `FeatureAlphaDropout`: dropout variants (identity in eval())."""
from . import functional as F
from .dropout import Dropout


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) signals, each (sample, channel) kept or dropped together."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Dropout that keeps SELU's self-normalisation: dropped units take SELU's negative saturation
    value and an affine map restores mean 0 and variance 1."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
