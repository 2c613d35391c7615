"""LoRA (low-rank adaptation) for any torch-like library `T`: a frozen Linear plus a trainable
low-rank update, y = W x + (α / r) · B A x, with A (r, in) and B (out, r).

B starts at zero, so an adapted model begins exactly where the frozen one is; only A and B learn.
Afterwards B A can be added into W (`merge`), and the adapted model costs nothing extra to run.
"""
import functools
import math


@functools.cache
def lora_classes(T):
    nn = T.nn

    class LoRALinear(nn.Module):
        def __init__(self, base, rank, alpha):
            super().__init__()
            self.base = base                                     # the pre-trained layer, frozen
            for p in base.parameters():
                p.requires_grad_(False)
            self.rank, self.scale = rank, alpha / rank
            self.lora_A = nn.Parameter(T.zeros(rank, base.in_features))
            self.lora_B = nn.Parameter(T.zeros(base.out_features, rank))
            bound = 1 / math.sqrt(base.in_features)              # A random, B zero: the update starts at 0
            nn.init.uniform_(self.lora_A, -bound, bound)
            self.merged = False

        def forward(self, x):                                    # (..., in)
            y = self.base(x)                                     # (..., out)
            if self.merged:
                return y
            return y + (x @ self.lora_A.T @ self.lora_B.T) * self.scale   # (..., r) inside

        def merge(self):
            """W ← W + scale · B A: the same function, one matrix product."""
            with T.no_grad():
                self.base.weight += (self.lora_B @ self.lora_A) * self.scale   # (out, in)
            self.merged = True

    return LoRALinear


def add_lora(T, model, rank, alpha, names=("c_attn", "c_proj", "c_fc")):
    """Freeze every parameter of `model`, then wrap each Linear whose attribute name is in
    `names` with a LoRALinear. Returns the wrapped layers."""
    LoRALinear = lora_classes(T)
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = []
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if name in names and isinstance(child, T.nn.Linear):
                layer = LoRALinear(child, rank, alpha)
                setattr(module, name, layer)
                wrapped.append(layer)
    return wrapped
