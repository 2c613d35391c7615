"""AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights directly."""
from .adam import Adam


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters, p ← p·(1 − lr·weight_decay), instead of
    adding weight_decay·p to the gradient, so the decay is not rescaled by Adam's denominator."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
