"""Utilities with the names of torch.utils: `mlseries.utils.data` (datasets and loaders)."""
from . import data  # noqa: F401  (so `mlseries.utils.data` works after `import mlseries`, as in torch)
from . import model_zoo  # noqa: F401
from . import checkpoint  # noqa: F401,E402  (torch.utils.checkpoint: runs the function, same gradients)
from . import hooks, tensorboard  # noqa: F401,E402  (RemovableHandle; SummaryWriter writing CSV/PNG/JSON)
