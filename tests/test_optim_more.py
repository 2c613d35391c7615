"""LBFGS, Rprop, ASGD, CyclicLR, ChainedScheduler and swa_utils against PyTorch (float64)."""
import warnings

import numpy as np
import pytest
import torch
import torch.optim.swa_utils  # noqa: F401

import mlseries as ms


def problem(lib, seed=0, n=5):
    """A small non-quadratic least-squares problem with its closure-ready parameter."""
    rng = np.random.default_rng(seed)
    A, b, x0 = rng.standard_normal((7, n)), rng.standard_normal(7), rng.standard_normal(n)
    x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
    A, b = lib.tensor(A), lib.tensor(b)

    def f():
        r = A @ x - b
        return (r * r).sum() + 0.1 * (x ** 4).sum() + lib.sin(3 * x).sum()
    return x, f


def run_lbfgs(lib, steps=6, **kw):
    x, f = problem(lib)
    opt = lib.optim.LBFGS([x], **kw)
    traj = []

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss
    for _ in range(steps):
        loss = opt.step(closure)
        traj.append((loss.item(), x.detach().numpy().copy()))
    return traj, opt, x


@pytest.mark.parametrize("kw", [
    dict(),
    dict(lr=0.5, max_iter=4, history_size=2),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=7, history_size=3, line_search_fn="strong_wolfe"),
    dict(max_iter=3, max_eval=2),
    dict(lr=2.0, line_search_fn="strong_wolfe", tolerance_change=1e-4),
])
def test_lbfgs_iterates_equal_torch(kw):
    a, opt_m, xm = run_lbfgs(ms, **kw)
    b, opt_t, xt = run_lbfgs(torch, **kw)
    for (lm, pm), (lt, pt) in zip(a, b):
        assert abs(lm - lt) <= 1e-10 * max(1, abs(lt))
        np.testing.assert_allclose(pm, pt, rtol=1e-9, atol=1e-10)
    sm, st = opt_m.state[xm], opt_t.state[xt]
    assert sm["func_evals"] == st["func_evals"] and sm["n_iter"] == st["n_iter"]
    assert len(sm["old_dirs"]) == len(st["old_dirs"])
    np.testing.assert_allclose(float(sm["t"]), float(st["t"]), rtol=1e-9)


def test_lbfgs_state_dict_resume_and_errors():
    a, opt, x = run_lbfgs(ms, steps=2, max_iter=3)
    saved = opt.state_dict()
    assert set(saved["state"][0]) >= {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                      "prev_flat_grad", "prev_loss"}
    b, _, _ = run_lbfgs(torch, steps=4, max_iter=3)
    x2, f = problem(ms)
    x2.data = x.detach().numpy().copy()
    opt2 = ms.optim.LBFGS([x2], max_iter=3)
    opt2.load_state_dict(saved)

    def closure():
        opt2.zero_grad()
        loss = f()
        loss.backward()
        return loss
    for _, want in b[2:]:
        opt2.step(closure)
        np.testing.assert_allclose(x2.detach().numpy(), want, rtol=1e-9, atol=1e-10)
    p, q = ms.nn.Parameter(ms.zeros(2)), ms.nn.Parameter(ms.zeros(2))
    with pytest.raises(ValueError, match="parameter groups"):
        ms.optim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(TypeError):
        ms.optim.LBFGS([p]).step()          # as in PyTorch, the closure is required
    with pytest.raises(RuntimeError, match="closure"):
        ms.optim.LBFGS([p]).step(None)
    with pytest.raises(ValueError, match="learning rate"):
        ms.optim.LBFGS([p], lr=-1)


def test_lbfgs_style_transfer_program():
    """The neural-style-transfer pattern: optimise an image tensor with LBFGS and a closure
    against fixed content and Gram-matrix targets from a tiny frozen conv net."""
    rng = np.random.default_rng(0)
    w1, content, style = rng.standard_normal((4, 3, 3, 3)) * 0.3, rng.random((1, 3, 8, 8)), rng.random((1, 3, 8, 8))
    start = rng.random((1, 3, 8, 8))
    losses = {}
    for lib in (ms, torch):
        conv = lib.nn.Conv2d(3, 4, 3, padding=1, bias=False).double()
        with lib.no_grad():
            conv.weight.copy_(lib.tensor(w1))
        conv.requires_grad_(False)
        feats = lambda img: lib.relu(conv(img))          # noqa: E731

        def gram(f):
            b, c, h, w = f.size()
            m = f.view(b * c, h * w)
            return m @ m.t() / (b * c * h * w)
        target_c = feats(lib.tensor(content)).detach()
        target_s = gram(feats(lib.tensor(style))).detach()
        img = lib.tensor(start).requires_grad_(True)
        opt = lib.optim.LBFGS([img])
        out = []
        for _ in range(2):  # 40 closure calls; later, rounding differences grow chaotically
            def closure():
                with lib.no_grad():
                    img.clamp_(0, 1)
                opt.zero_grad()
                f = feats(img)
                loss = lib.nn.functional.mse_loss(f, target_c) + 1e3 * lib.nn.functional.mse_loss(gram(f), target_s)
                loss.backward()
                out.append(loss.item())
                return loss
            opt.step(closure)
        losses[lib.__name__] = out
    assert len(losses["mlseries"]) == len(losses["torch"]) > 20
    np.testing.assert_allclose(losses["mlseries"], losses["torch"], rtol=1e-8)


def run_opt(lib, name, steps=12, **kw):
    rng = np.random.default_rng(1)
    w0, x, y = rng.standard_normal((3, 4)), rng.standard_normal((10, 4)), rng.standard_normal((10, 3))
    w = lib.tensor(w0, requires_grad=True)
    b = lib.tensor(np.zeros(3), requires_grad=True)
    opt = getattr(lib.optim, name)([w, b], **kw)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((lib.tensor(x) @ w.t() + b - lib.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, w.detach().numpy(), opt, w


@pytest.mark.parametrize("name,kw", [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.1, lambd=1e-2, alpha=0.5, t0=4, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=2, maximize=True)),
])
def test_rprop_asgd_equal_torch(name, kw):
    lm, wm, om, pm = run_opt(ms, name, **kw)
    lt, wt, ot, pt = run_opt(torch, name, **kw)
    np.testing.assert_allclose(lm, lt, rtol=1e-10)
    np.testing.assert_allclose(wm, wt, rtol=1e-10, atol=1e-12)
    sm, st = om.state[pm], ot.state[pt]
    assert set(sm) == set(st)
    for k in st:
        np.testing.assert_allclose(np.asarray(sm[k].numpy()), st[k].numpy(), rtol=1e-7)


def test_rprop_asgd_bad_args():
    p = ms.nn.Parameter(ms.zeros(2))
    with pytest.raises(ValueError, match="eta"):
        ms.optim.Rprop([p], etas=(1.2, 0.5))
    with pytest.raises(ValueError, match="learning rate"):
        ms.optim.ASGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        ms.optim.ASGD([p], weight_decay=-1)


# ---- schedulers ----------------------------------------------------------------------------
def lr_sequence(lib, make, opt_name="SGD", steps=40, opt_kw=None, groups=1):
    params = [{"params": [lib.nn.Parameter(lib.zeros(2))], "lr": 0.1 * (i + 1)} for i in range(groups)]
    opt = getattr(lib.optim, opt_name)(params, **(opt_kw or {}))
    sched = make(lib, opt)
    seq = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            mom = g.get("momentum", g.get("betas", (None,))[0])
            seq.append((sched.get_last_lr(), mom))
    return seq


SCHEDULES = {
    "triangular": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=5),
    "triangular2": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=3,
                                                                  step_size_down=7, mode="triangular2"),
    "exp_range": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.001, 0.01, step_size_up=4, mode="exp_range",
                                                                gamma=0.97, base_momentum=0.7, max_momentum=0.95),
    "custom": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.001, 0.01, step_size_up=3,
                                                             scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
                                                             cycle_momentum=False),
    "chained": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
        lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)]),
    "swalr_cos": lambda lib, o: lib.optim.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=5),
    "swalr_linear": lambda lib, o: lib.optim.swa_utils.SWALR(o, swa_lr=[0.01, 0.3], anneal_epochs=3,
                                                             anneal_strategy="linear"),
    "swalr_0": lambda lib, o: lib.optim.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=0),
    "warm_restarts": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
    "poly": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, total_iters=20, power=2.0),
    "multiplicative": lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("opt_name,opt_kw", [("SGD", dict(momentum=0.9)), ("Adam", dict())])
def test_schedules_equal_torch(name, opt_name, opt_kw):
    groups = 2 if name in ("triangular2", "swalr_linear") else 1
    a = lr_sequence(ms, SCHEDULES[name], opt_name, opt_kw=opt_kw, groups=groups)
    b = lr_sequence(torch, SCHEDULES[name], opt_name, opt_kw=opt_kw, groups=groups)
    for (lm, mm), (lt, mt) in zip(a, b):
        np.testing.assert_allclose(lm, lt, rtol=1e-12, atol=1e-15)
        assert mm == pytest.approx(mt, rel=1e-12)


def test_scheduler_errors_and_state_dict():
    p = ms.nn.Parameter(ms.zeros(2))
    opt = ms.optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="mode is invalid"):
        ms.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="zigzag")
    with pytest.raises(ValueError, match="momentum"):
        ms.optim.lr_scheduler.CyclicLR(ms.optim.Adagrad([p]), 0.01, 0.1)
    with pytest.raises(ValueError, match="at least one"):
        ms.optim.lr_scheduler.ChainedScheduler([])
    other = ms.optim.SGD([ms.nn.Parameter(ms.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        ms.optim.lr_scheduler.ChainedScheduler([ms.optim.lr_scheduler.StepLR(opt, 2),
                                                ms.optim.lr_scheduler.StepLR(other, 2)])
    with pytest.raises(ValueError, match="anneal_strategy"):
        ms.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs"):
        ms.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
    s = ms.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3)
    for _ in range(4):
        opt.step()
        s.step()
    sd = s.state_dict()
    s2 = ms.optim.lr_scheduler.CyclicLR(ms.optim.SGD([p], lr=0.1, momentum=0.9), 0.01, 0.1, step_size_up=3)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 4 and s2.get_lr() == s.get_lr()


# ---- swa_utils -----------------------------------------------------------------------------
def make_net(lib, seed=0):
    lib.manual_seed(seed)
    return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.ReLU(), lib.nn.Linear(6, 2)).double()


def twin_nets():
    t = make_net(torch)
    m = make_net(ms)
    m.load_state_dict({k: ms.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    return m, t


@pytest.mark.parametrize("mode", ["swa", "ema_multi", "ema_avg", "buffers"])
def test_swa_program_equal_torch(mode):
    """SWA training program: SGD, then SWALR and AveragedModel.update_parameters each epoch,
    update_bn at the end; the averaged model's outputs and state dict equal PyTorch's."""
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((8, 4)), rng.standard_normal((8, 2))) for _ in range(3)]
    results = []
    for lib, net in zip((ms, torch), twin_nets()):
        su = lib.optim.swa_utils
        kw = {"swa": {}, "ema_multi": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.9)),
              "ema_avg": dict(avg_fn=su.get_ema_avg_fn(0.8)), "buffers": dict(use_buffers=True)}[mode]
        swa = su.AveragedModel(net, **kw)
        opt = lib.optim.SGD(net.parameters(), lr=0.1)
        sched = su.SWALR(opt, swa_lr=0.05, anneal_epochs=2)
        losses = []
        for epoch in range(5):
            for x, y in data:
                opt.zero_grad()
                loss = lib.nn.functional.mse_loss(net(lib.tensor(x)), lib.tensor(y))
                loss.backward()
                opt.step()
                losses.append(loss.item())
            if epoch >= 1:
                swa.update_parameters(net)
                sched.step()
        loader = [(lib.tensor(x), lib.tensor(y)) for x, y in data]
        su.update_bn(loader, swa)
        swa.eval()
        out = swa(lib.tensor(data[0][0])).detach().numpy()
        results.append((losses, out, {k: v.numpy() for k, v in swa.state_dict().items()}))
    (lm, om, sm), (lt, ot, st) = results
    np.testing.assert_allclose(lm, lt, rtol=1e-10)
    np.testing.assert_allclose(om, ot, rtol=1e-9, atol=1e-12)
    assert list(sm) == list(st)
    for k in st:
        np.testing.assert_allclose(sm[k], st[k], rtol=1e-9, atol=1e-12)


def test_swa_errors():
    with pytest.raises(ValueError, match="decay"):
        ms.optim.swa_utils.get_ema_multi_avg_fn(1.5)
    net = ms.nn.Linear(2, 2)
    ms.optim.swa_utils.update_bn([ms.zeros(3, 2)], net)  # no BatchNorm: nothing to do


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_float32(ls):
    results = []
    for lib in (ms, torch):
        rng = np.random.default_rng(0)
        A = lib.tensor(rng.standard_normal((8, 4)).astype(np.float32))
        b = lib.tensor(rng.standard_normal(8).astype(np.float32))
        x = lib.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
        opt = lib.optim.LBFGS([x], max_iter=5, line_search_fn=ls)
        losses = []
        for _ in range(3):
            def closure():
                opt.zero_grad()
                loss = ((A @ x - b) ** 2).sum() + 0.1 * (x ** 4).sum()
                loss.backward()
                return loss
            losses.append(opt.step(closure).item())
        assert x.dtype == lib.float32
        results.append((losses, x.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)
