"""Compare a whole mlseries module with its PyTorch twin: load PyTorch's state_dict into ours, run
the same call in both, and compare every output, the gradient of every input and of every
parameter (used by the attention and Transformer tests)."""
import numpy as np
import torch

import mlseries as ms
from op_harness import TOL


def randomise(module, seed):
    """Non-zero biases everywhere (PyTorch initialises them to 0, which would hide mistakes)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim == 1 or p.shape[:2] == (1, 1):
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


def check_module(ours, theirs, arrays, call, dtype=np.float64, tol=None):
    """Load theirs' state into ours, run `call(T, module, *inputs)` on both, compare every output,
    the gradient of every input and of every parameter. Returns our outputs."""
    tol = tol or TOL[dtype]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xs = [ms.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    xt = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out_m, out_t = call(ms, ours, *xs), call(torch, theirs, *xt)
    out_m = out_m if isinstance(out_m, tuple) else (out_m,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    rng = np.random.default_rng(0)
    loss_m = loss_t = 0
    for i, (m, t) in enumerate(zip(out_m, out_t)):
        assert (m is None) == (t is None), f"output {i}: {m is None} vs torch {t is None}"
        if m is None:
            continue
        assert tuple(m.shape) == tuple(t.shape), f"output {i}: shape {tuple(m.shape)} vs torch {tuple(t.shape)}"
        assert m.numpy().dtype == t.detach().numpy().dtype
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), err_msg=f"output {i}", **tol)
        w = rng.standard_normal(tuple(t.shape)).astype(dtype)
        loss_m = loss_m + (m * ms.tensor(w)).sum()
        loss_t = loss_t + (t * torch.tensor(w)).sum()
    loss_m.backward()
    loss_t.backward()
    for i, (a, b) in enumerate(zip(xs, xt)):
        if b.grad is None:
            assert a.grad is None or not a.grad.numpy().any(), f"input {i}"
            continue
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg=f"grad of input {i}", **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        q = theirs_params[name]
        if q.grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
            continue
        assert p.grad is not None, f"{name}: no gradient"
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=f"grad of {name}", **tol)
    return out_m
