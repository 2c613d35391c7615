"""`torch.utils.tensorboard`: `SummaryWriter`, writing plain files instead of TensorBoard's event
files (TensorBoard is not installed here); see `writer.py` for what goes where."""
from .writer import SummaryWriter  # noqa: F401

__all__ = ["SummaryWriter"]
