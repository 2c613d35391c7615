"""mlseries.optim against torch.optim: every optimizer and scheduler step by step, state dicts
through mlseries.save/load, and whole training runs that must follow PyTorch's loss curve."""

import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn as nn
import mlseries.nn.functional as F
import mlseries.optim as optim
from mlseries.optim import lr_scheduler

# Torch's OpenMP threads spin between calls and starve NumPy's BLAS threads when the two run
# interleaved in one process (10x slower on two cores); one torch thread avoids that.
torch.set_num_threads(1)

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    mp = [nn.Parameter(ms.tensor(a.copy())) for a in init]
    tp = [torch.nn.Parameter(torch.tensor(a.copy())) for a in init]
    return mp, tp


def fake_grads(params, step, rng_seed=1):
    """A gradient that depends on the parameter (so the trajectories feed back) plus noise."""
    rng = np.random.default_rng(rng_seed + step)
    return [(np.sin(3 * p) + 0.5 * p + rng.standard_normal(p.shape)).astype(p.dtype) for p in params]


def step_both(mopt, topt, mp, tp, steps=20):
    for i in range(steps):
        grads = fake_grads([p.numpy() for p in mp], i)
        for p, q, g in zip(mp, tp, grads):
            p.grad = ms.tensor(g.copy())
            q.grad = torch.tensor(g.copy())
        if i == 3:  # a parameter without a gradient this step is skipped
            mp[1].grad, tp[1].grad = None, None
        mopt.step()
        topt.step()


def assert_same_params(mp, tp, tol=1e-6):
    for p, q in zip(mp, tp):
        assert np.all(np.isfinite(p.numpy()))
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=tol, atol=tol)


CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.9), maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, maximize=True, eps=1e-4)),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{'-'.join(kw)}" for n, kw in CONFIGS])
def test_optimizer_follows_torch_for_20_steps(name, kwargs):
    mp, tp = make_params()
    mopt, topt = getattr(optim, name)(mp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    step_both(mopt, topt, mp, tp)
    assert_same_params(mp, tp)
    for p, q in zip(mp, tp):
        mstate, tstate = mopt.state[p], topt.state[q]
        assert set(mstate) == set(tstate)
        for key in tstate:
            np.testing.assert_allclose(np.asarray(mstate[key].numpy()), tstate[key].numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_on_a_table_large_enough_to_update_in_parts_follows_torch(amsgrad, monkeypatch):
    """An embedding-sized parameter (5000 × 64) is updated in parts along its rows (on a
    two-core machine at least; two cores are assumed here): still PyTorch's numbers, and bit for
    bit the same as one part."""
    from mlseries import _threads
    monkeypatch.setattr(_threads, "cores", lambda: 2)
    rng = np.random.default_rng(0)
    init = rng.standard_normal((5000, 64))
    runs = []
    for parts in (True, False):
        if not parts:
            monkeypatch.setattr(_threads, "cores", lambda: 1)
        mp, tp = [nn.Parameter(ms.tensor(init.copy()))], [torch.nn.Parameter(torch.tensor(init.copy()))]
        mopt, topt = optim.Adam(mp, lr=0.01, amsgrad=amsgrad), torch.optim.Adam(tp, lr=0.01, amsgrad=amsgrad)
        step_both(mopt, topt, mp, tp, steps=3)   # (step 3 drops a second parameter)
        assert_same_params(mp, tp)
        runs.append(mp[0].detach().numpy().copy())
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True))])
def test_float32_parameters_stay_float32_and_follow_torch(name, kwargs):
    mp, tp = make_params(dtype=np.float32)
    mopt, topt = getattr(optim, name)(mp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    step_both(mopt, topt, mp, tp)
    assert all(p.dtype == ms.float32 for p in mp)
    assert_same_params(mp, tp, tol=1e-4)


def test_param_groups_have_their_own_options():
    mp, tp = make_params()
    mopt = optim.SGD([{"params": mp[:2]}, {"params": mp[2:], "lr": 0.5, "momentum": 0.5}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": tp[:2]}, {"params": tp[2:], "lr": 0.5, "momentum": 0.5}], lr=0.1, momentum=0.9)
    assert mopt.param_groups[0]["lr"] == 0.1 and mopt.param_groups[1]["momentum"] == 0.5
    step_both(mopt, topt, mp, tp)
    assert_same_params(mp, tp)


def test_add_param_group_and_errors():
    mp, _ = make_params()
    opt = optim.Adam(mp[:1], lr=0.1)
    opt.add_param_group({"params": mp[1], "lr": 0.01})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [mp[0]]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam(mp, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(mp, lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(mp[0], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD(set(mp), lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([mp[0] * 2], lr=0.1)


def test_zero_grad_and_closure():
    mp, _ = make_params()
    opt = optim.SGD(mp, lr=0.1)
    for p in mp:
        p.grad = ms.ones_like(p)
    opt.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in mp)
    opt.zero_grad()
    assert all(p.grad is None for p in mp)

    def closure():
        opt.zero_grad()
        loss = sum((p * p).sum() for p in mp)
        loss.backward()
        return loss

    before = [p.numpy().copy() for p in mp]
    loss = opt.step(closure)
    assert isinstance(loss, ms.Tensor)
    for p, b in zip(mp, before):
        np.testing.assert_allclose(p.numpy(), b - 0.1 * 2 * b)


def test_optimizer_repr_lists_groups():
    mp, tp = make_params()
    text = repr(optim.SGD(mp, lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text and "    momentum: 0.9" in text


# ---- state dicts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
                                         ("SGD", dict(lr=0.05, momentum=0.9)), ("Adagrad", dict(lr=0.1)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True))])
def test_state_dict_save_load_resumes_exactly(tmp_path, name, kwargs):
    """Interrupt after 10 steps, save to disk, rebuild, load, run 10 more: the same weights as
    20 uninterrupted steps."""
    ref, _ = make_params()
    ref_opt = getattr(optim, name)(ref, **kwargs)
    mp, _ = make_params()
    opt = getattr(optim, name)(mp, **kwargs)
    for i in range(20):
        for params, o in ((ref, ref_opt), (mp, opt)) if i < 10 else ((ref, ref_opt),):
            for p, g in zip(params, fake_grads([p.numpy() for p in params], i)):
                p.grad = ms.tensor(g)
            o.step()
    path = tmp_path / "ckpt.npz"
    ms.save({"params": [p.detach() for p in mp], "optimizer": opt.state_dict()}, path)
    ckpt = ms.load(path)
    resumed = [nn.Parameter(t) for t in ckpt["params"]]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # options come back from the checkpoint
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for i in range(10, 20):
        for p, g in zip(resumed, fake_grads([p.numpy() for p in resumed], i)):
            p.grad = ms.tensor(g)
        opt2.step()
    for a, b in zip(ref, resumed):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_layout_matches_torch():
    mp, tp = make_params()
    mopt, topt = optim.Adam(mp, lr=0.01), torch.optim.Adam(tp, lr=0.01)
    step_both(mopt, topt, mp, tp, steps=2)
    msd, tsd = mopt.state_dict(), topt.state_dict()
    assert set(msd) == {"state", "param_groups"}
    assert list(msd["state"]) == list(tsd["state"])
    assert msd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"]
    assert set(msd["param_groups"][0]) <= set(tsd["param_groups"][0])
    for idx in tsd["state"]:
        assert set(msd["state"][idx]) == set(tsd["state"][idx])
        assert msd["state"][idx]["step"].item() == tsd["state"][idx]["step"].item()


def test_load_state_dict_checks_group_sizes():
    mp, _ = make_params()
    sd = optim.SGD(mp, lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD(mp[:2], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": mp[:1]}, {"params": mp[1:]}], lr=0.1).load_state_dict(sd)


# ---- schedulers -----------------------------------------------------------------------------------
def two_group_optimizers(opt_name="SGD", **kwargs):
    mp, tp = make_params()
    if opt_name == "SGD":
        kwargs.setdefault("momentum", 0.9)
    mopt = getattr(optim, opt_name)([{"params": mp[:2]}, {"params": mp[2:], "lr": 0.3}], lr=0.1, **kwargs)
    topt = getattr(torch.optim, opt_name)([{"params": tp[:2]}, {"params": tp[2:], "lr": 0.3}], lr=0.1, **kwargs)
    return mopt, topt


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=20)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95)),
    ("LinearLR", dict(start_factor=0.1, total_iters=6)),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.2, total_iters=4)),
    ("ConstantLR", dict(factor=0.25, total_iters=3)),
    ("PolynomialLR", dict(total_iters=12, power=2.0)),
]


def scheduler_pair(name, kwargs, mopt, topt):
    return getattr(lr_scheduler, name)(mopt, **kwargs), getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)


def assert_same_lrs(mopt, topt, msched, tsched):
    np.testing.assert_allclose(msched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15)
    for mg, tg in zip(mopt.param_groups, topt.param_groups):
        assert mg["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_follows_torch_for_20_steps(name, kwargs):
    mopt, topt = two_group_optimizers()
    msched, tsched = scheduler_pair(name, kwargs, mopt, topt)
    assert_same_lrs(mopt, topt, msched, tsched)
    for _ in range(20):
        mopt.step()
        topt.step()
        msched.step()
        tsched.step()
        assert_same_lrs(mopt, topt, msched, tsched)


def test_sequential_lr_warmup_then_cosine_follows_torch():
    mopt, topt = two_group_optimizers()
    mwarm = lr_scheduler.LinearLR(mopt, start_factor=0.1, total_iters=4)
    mcos = lr_scheduler.CosineAnnealingLR(mopt, T_max=10, eta_min=0.001)
    twarm = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.1, total_iters=4)
    tcos = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10, eta_min=0.001)
    msched = lr_scheduler.SequentialLR(mopt, [mwarm, mcos], milestones=[4])
    tsched = torch.optim.lr_scheduler.SequentialLR(topt, [twarm, tcos], milestones=[4])
    assert_same_lrs(mopt, topt, msched, tsched)
    for _ in range(20):
        mopt.step()
        topt.step()
        msched.step()
        tsched.step()
        assert_same_lrs(mopt, topt, msched, tsched)


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", {"momentum": 0.9}), ("Adam", {})])
@pytest.mark.parametrize("options", [{}, {"anneal_strategy": "linear", "three_phase": True, "pct_start": 0.25}])
def test_one_cycle_lr_follows_torch_including_momentum(opt_name, kwargs, options):
    mopt, topt = two_group_optimizers(opt_name, **kwargs)
    msched = lr_scheduler.OneCycleLR(mopt, max_lr=[1.0, 2.0], total_steps=20, **options)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=[1.0, 2.0], total_steps=20, **options)
    for _ in range(19):
        assert_same_lrs(mopt, topt, msched, tsched)
        for mg, tg in zip(mopt.param_groups, topt.param_groups):
            key = "betas" if opt_name == "Adam" else "momentum"
            np.testing.assert_allclose(mg[key], tg[key], rtol=1e-12)
        mopt.step()
        topt.step()
        msched.step()
        tsched.step()


def test_reduce_lr_on_plateau_follows_torch():
    mopt, topt = two_group_optimizers()
    kw = dict(factor=0.5, patience=2, cooldown=1, min_lr=[0.01, 0.05], threshold=0.01)
    msched = lr_scheduler.ReduceLROnPlateau(mopt, **kw)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    losses = [1.0, 0.9, 0.95, 0.91, 0.9, 0.92, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    for loss in losses:
        mopt.step()
        topt.step()
        msched.step(ms.tensor(loss))
        tsched.step(loss)
        assert_same_lrs(mopt, topt, msched, tsched)
        assert msched.num_bad_epochs == tsched.num_bad_epochs


def test_scheduler_state_dict_round_trips_through_save(tmp_path):
    mopt, _ = two_group_optimizers()
    sched = lr_scheduler.MultiStepLR(mopt, milestones=[3, 6], gamma=0.5)
    for _ in range(4):
        mopt.step()
        sched.step()
    ms.save({"opt": mopt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    ckpt = ms.load(tmp_path / "s.npz")
    mopt2, _ = two_group_optimizers()
    mopt2.load_state_dict(ckpt["opt"])
    sched2 = lr_scheduler.MultiStepLR(mopt2, milestones=[3, 6], gamma=0.5)
    sched2.load_state_dict(ckpt["sched"])
    for _ in range(4):
        mopt.step()
        mopt2.step()
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


def test_scheduler_stepped_before_optimizer_warns():
    mopt, _ = two_group_optimizers()
    sched = lr_scheduler.StepLR(mopt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


# ---- whole training runs --------------------------------------------------------------------------
def teacher_data(n=1024, d=784, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = np.argmax(x @ rng.standard_normal((d, classes)), axis=1)
    return x, y


def twin_mlps(sizes, dtype, seed=0):
    """The same MLP in both frameworks, from the same initial weights (mlseries' init)."""
    ms.manual_seed(seed)
    layers_m, layers_t = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lm, lt = nn.Linear(a, b), torch.nn.Linear(a, b)
        with torch.no_grad():
            lt.weight.copy_(torch.from_numpy(lm.weight.numpy().copy()))
            lt.bias.copy_(torch.from_numpy(lm.bias.numpy().copy()))
        layers_m.append(lm)
        layers_t.append(lt)
        if i < len(sizes) - 2:
            layers_m.append(nn.ReLU())
            layers_t.append(torch.nn.ReLU())
    mm, tm = nn.Sequential(*layers_m), torch.nn.Sequential(*layers_t)
    if dtype == np.float64:
        mm.double()
        tm.double()
    return mm, tm


def train_both(dtype, make_opt, steps=200, batch=64, scheduler=None, clip=None):
    x, y = teacher_data()
    x = x.astype(dtype)
    mm, tm = twin_mlps([784, 128, 10], dtype)
    mopt, topt = make_opt(optim, mm.parameters()), make_opt(torch.optim, tm.parameters())
    scheds = (scheduler(lr_scheduler, mopt), scheduler(torch.optim.lr_scheduler, topt)) if scheduler else None
    order = np.random.default_rng(1).permutation(np.tile(np.arange(len(x)), steps * batch // len(x) + 1))
    mloss, tloss = [], []
    for step in range(steps):
        idx = order[step * batch:(step + 1) * batch]
        xb, yb = x[idx], y[idx]
        lm = F.cross_entropy(mm(ms.tensor(xb)), ms.tensor(yb))
        lt = torch.nn.functional.cross_entropy(tm(torch.tensor(xb)), torch.tensor(yb))
        mopt.zero_grad()
        topt.zero_grad()
        lm.backward()
        lt.backward()
        if clip:
            nn.utils.clip_grad_norm_(mm.parameters(), clip)
            torch.nn.utils.clip_grad_norm_(tm.parameters(), clip)
        mopt.step()
        topt.step()
        if scheds:
            scheds[0].step()
            scheds[1].step()
        mloss.append(lm.item())
        tloss.append(lt.item())
    return np.array(mloss), np.array(tloss)


def test_mlp_training_with_adam_follows_torch_loss_curve_float64():
    mloss, tloss = train_both(np.float64, lambda lib, params: lib.Adam(params, lr=1e-3))
    np.testing.assert_allclose(mloss, tloss, rtol=1e-4, atol=1e-4)
    assert mloss[-10:].mean() < 0.5 * mloss[:10].mean()  # it does learn


def test_mlp_training_with_sgd_nesterov_schedule_and_clipping_follows_torch_float64():
    mloss, tloss = train_both(
        np.float64,
        lambda lib, params: lib.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
        scheduler=lambda lib, opt: lib.StepLR(opt, step_size=50, gamma=0.5), clip=1.0)
    np.testing.assert_allclose(mloss, tloss, rtol=1e-4, atol=1e-4)


def test_mlp_training_float32_stays_close_to_torch():
    mloss, tloss = train_both(np.float32, lambda lib, params: lib.AdamW(params, lr=1e-3))
    np.testing.assert_allclose(mloss, tloss, rtol=1e-3, atol=1e-4)
