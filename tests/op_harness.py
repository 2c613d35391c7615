"""Run one function in mlseries and in PyTorch on the same inputs and compare values and gradients
(tinygrad's helper_test_op is the model), plus central finite differences in float64."""
import numpy as np
import torch

import mlseries as ms

TOL = {np.float64: dict(rtol=1e-8, atol=1e-8), np.float32: dict(rtol=1e-4, atol=1e-4)}


def make_inputs(shapes, rng, low=-2.0, high=2.0, positive=False):
    arrays = []
    for s in shapes:
        a = rng.uniform(low, high, size=s)
        if positive:
            a = np.abs(a) + 0.5
        arrays.append(a)
    return arrays


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare(fn, arrays, dtype=np.float64, grad=True, torch_fn=None, name="", upstream_seed=0):
    """Evaluate fn on both frameworks; compare outputs and the gradients of sum(out * w)."""
    torch_fn = torch_fn or fn
    tol = TOL[dtype]
    ms_in = [ms.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    th_in = [torch.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    ms_out = _as_list(fn(*ms_in))
    th_out = _as_list(torch_fn(*th_in))
    assert len(ms_out) == len(th_out), name
    rng = np.random.default_rng(upstream_seed)
    ms_loss, th_loss = None, None
    for mo, to in zip(ms_out, th_out):
        got, want = mo.numpy(), to.detach().numpy()
        assert got.shape == want.shape, f"{name}: shape {got.shape} vs torch {want.shape}"
        assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} vs torch {want.dtype}"
        np.testing.assert_allclose(got, want, err_msg=f"{name}: forward", **tol)
        if grad and to.requires_grad:
            w = rng.standard_normal(want.shape).astype(dtype)
            ms_term = (mo * ms.tensor(w)).sum()
            th_term = (to * torch.tensor(w)).sum()
            ms_loss = ms_term if ms_loss is None else ms_loss + ms_term
            th_loss = th_term if th_loss is None else th_loss + th_term
    if not grad or th_loss is None:
        return
    ms_loss.backward()
    th_loss.backward()
    for i, (mi, ti) in enumerate(zip(ms_in, th_in)):
        if ti.grad is None:
            assert mi.grad is None or np.allclose(mi.grad.numpy(), 0), f"{name}: input {i} has a grad, torch has none"
            continue
        assert mi.grad is not None, f"{name}: input {i} got no gradient"
        assert mi.grad.shape == tuple(ti.grad.shape), f"{name}: grad {i} shape"
        np.testing.assert_allclose(mi.grad.numpy(), ti.grad.numpy(), err_msg=f"{name}: grad of input {i}", **tol)


def finite_difference_check(fn, arrays, eps=1e-6, rtol=1e-5, atol=1e-6, name=""):
    """Gradient of sum(fn(x) * w) by autograd equals central differences, in float64."""
    rng = np.random.default_rng(1)
    arrays = [a.astype(np.float64) for a in arrays]
    out0 = _as_list(fn(*[ms.tensor(a) for a in arrays]))
    weights = [rng.standard_normal(o.shape) for o in out0]

    def scalar(*arrs):
        outs = _as_list(fn(*[ms.tensor(a) for a in arrs]))
        return float(sum((o.numpy() * w).sum() for o, w in zip(outs, weights)))

    inputs = [ms.tensor(a, requires_grad=True) for a in arrays]
    outs = _as_list(fn(*inputs))
    total = None
    for o, w in zip(outs, weights):
        term = (o * ms.tensor(w)).sum()
        total = term if total is None else total + term
    total.backward()
    for i, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        flat = a.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            up = scalar(*arrays)
            flat[j] = orig - eps
            down = scalar(*arrays)
            flat[j] = orig
            numeric.reshape(-1)[j] = (up - down) / (2 * eps)
        analytic = inputs[i].grad.numpy() if inputs[i].grad is not None else np.zeros_like(a)
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol, err_msg=f"{name}: input {i}")
