"""`mlseries.autograd.Function` written the way PyTorch programs write `torch.autograd.Function`:
the same class bodies run under both frameworks (only the module differs) and give the same
gradients."""
import numpy as np
import pytest

import mlseries as ms

torch = pytest.importorskip("torch")


def define(lib):
    """The same custom Functions, written against `lib` (torch or mlseries)."""

    class GradReverse(lib.autograd.Function):       # DANN's gradient-reversal layer
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.neg() * ctx.alpha, None

    class Exp(lib.autograd.Function):               # PyTorch's documentation example: saves its output
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    class Cube(lib.autograd.Function):              # a differentiable backward: second derivatives
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x ** 2

    class Affine(lib.autograd.Function):            # several inputs, a broadcast bias, needs_input_grad
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            return x @ w.t() + b

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = g @ w if ctx.needs_input_grad[0] else None
            gw = g.t() @ x if ctx.needs_input_grad[1] else None
            gb = g.sum(0) if ctx.needs_input_grad[2] else None
            return gx, gw, gb

    class SplitScale(lib.autograd.Function):        # two outputs
        @staticmethod
        def forward(x):
            return x * 2, x * x

        @staticmethod
        def backward(ctx, g_double, g_square):
            x = ctx.x
            return g_double * 2 + g_square * 2 * x

        @staticmethod
        def setup_context(ctx, inputs, output):     # the newer form: forward without ctx
            ctx.x = inputs[0]

    class SortValues(lib.autograd.Function):        # an integer output, marked non-differentiable
        @staticmethod
        def forward(ctx, x):
            values, index = x.sort(-1)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            return values, index

        @staticmethod
        def backward(ctx, g, g_index):
            index, = ctx.saved_tensors
            out = g.new_zeros(g.shape)
            return out.scatter(-1, index, g)

    class RoundSTE(lib.autograd.Function):          # straight-through estimator (quantisation-aware training)
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, g):
            return g

    return dict(GradReverse=GradReverse, Exp=Exp, Cube=Cube, Affine=Affine, SplitScale=SplitScale,
                SortValues=SortValues, RoundSTE=RoundSTE)


OURS, THEIRS = define(ms), define(torch)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5))
W = RNG.standard_normal((3, 5))
B = RNG.standard_normal(3)


def both(*arrays, grad=True):
    """The arrays as float64 leaves in each framework."""
    return ([ms.tensor(a, requires_grad=grad) for a in arrays], [torch.tensor(a, requires_grad=grad) for a in arrays])


def assert_same(a, b, tol=1e-12):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,args", [("GradReverse", (0.7,)), ("Exp", ()), ("Cube", ()), ("RoundSTE", ())])
def test_single_output_functions_match_torch(name, args):
    (x,), (tx,) = both(X)
    y, ty = OURS[name].apply(x, *args), THEIRS[name].apply(tx, *args)
    assert_same(y, ty)
    weights = RNG.standard_normal(X.shape)
    (y * ms.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    assert_same(x.grad, tx.grad)
    assert repr(y.grad_fn) == f"<{name}Backward>"


def test_several_inputs_and_needs_input_grad():
    (x, w, b), (tx, tw, tb) = both(X, W, B)
    w.requires_grad_(False)
    tw.requires_grad_(False)
    OURS["Affine"].apply(x, w, b).pow(2).sum().backward()
    THEIRS["Affine"].apply(tx, tw, tb).pow(2).sum().backward()
    assert_same(x.grad, tx.grad)
    assert_same(b.grad, tb.grad)
    assert w.grad is None and tw.grad is None


def test_two_outputs_and_the_newer_setup_context_form():
    (x,), (tx,) = both(X)
    d, s = OURS["SplitScale"].apply(x)
    td, ts = THEIRS["SplitScale"].apply(tx)
    assert_same(d, td)
    assert_same(s, ts)
    (d.sum() + (s * 3).sum()).backward()
    (td.sum() + (ts * 3).sum()).backward()
    assert_same(x.grad, tx.grad)
    # only one output used: the other's gradient arrives as zeros
    (x,), (tx,) = both(X)
    OURS["SplitScale"].apply(x)[1].sum().backward()
    THEIRS["SplitScale"].apply(tx)[1].sum().backward()
    assert_same(x.grad, tx.grad)


def test_non_differentiable_integer_output():
    (x,), (tx,) = both(X)
    v, i = OURS["SortValues"].apply(x)
    tv, ti = THEIRS["SortValues"].apply(tx)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert not i.requires_grad and v.requires_grad
    weights = RNG.standard_normal(X.shape)
    (v * ms.tensor(weights)).sum().backward()
    (tv * torch.tensor(weights)).sum().backward()
    assert_same(x.grad, tx.grad)


def test_second_derivative_through_a_differentiable_backward():
    (x,), (tx,) = both(X)
    g, = ms.autograd.grad(OURS["Cube"].apply(x).sum(), x, create_graph=True)
    tg, = torch.autograd.grad(THEIRS["Cube"].apply(tx).sum(), tx, create_graph=True)
    assert_same(g, tg)
    g.sum().backward()
    tg.sum().backward()
    assert_same(x.grad, tx.grad)              # 6x
    np.testing.assert_allclose(x.grad.numpy(), 6 * X, rtol=1e-12)


def test_training_with_a_custom_function_matches_torch_step_by_step():
    # a small DANN-style model: features, a label head, and a domain head behind gradient reversal
    rng = np.random.default_rng(1)
    xs, ys, ds = rng.standard_normal((32, 6)), rng.integers(0, 3, 32), rng.integers(0, 2, 32).astype(float)
    losses = {}
    for lib, fns in ((ms, OURS), (torch, THEIRS)):
        lib.manual_seed(0)
        feat, head, dom = lib.nn.Linear(6, 8).double(), lib.nn.Linear(8, 3).double(), lib.nn.Linear(8, 1).double()
        for m, src in zip((feat, head, dom), (np.random.default_rng(k) for k in (2, 3, 4))):
            with lib.no_grad():
                m.weight.copy_(lib.tensor(src.standard_normal(tuple(m.weight.shape)) * 0.3))
                m.bias.zero_()
        params = [*feat.parameters(), *head.parameters(), *dom.parameters()]
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        run = []
        for _ in range(5):
            h = feat(lib.tensor(xs)).relu()
            loss = lib.nn.functional.cross_entropy(head(h), lib.tensor(ys)) + \
                lib.nn.functional.binary_cross_entropy_with_logits(dom(fns["GradReverse"].apply(h, 0.5))[:, 0],
                                                                   lib.tensor(ds))
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses[lib.__name__] = run
    np.testing.assert_allclose(losses["mlseries"], losses["torch"], rtol=1e-12)


def test_saved_tensor_changed_in_place_is_refused():
    (x,), _ = both(X)
    y = OURS["Exp"].apply(x)
    with ms.no_grad():
        y.mul_(2)                             # the saved output itself
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_errors_name_the_problem():
    class TooFew(ms.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            return x * w

        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(ms.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1, :2]

    class NoBackward(ms.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    (x, w), _ = both(X, X)
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 2, got 1\)"):
        TooFew.apply(x, w).sum().backward()
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[1, 2\]"):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(TypeError, match="save_for_backward can only save tensors"):
        ms.autograd.FunctionCtx().save_for_backward(x, 3.0)


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class RowBias(ms.autograd.Function):
        @staticmethod
        def forward(ctx, x, b):
            return x + b

        @staticmethod
        def backward(ctx, g):
            return g, g                       # b's gradient still has x's shape: summed back, as PyTorch does

    (x, b), (tx, tb) = both(X, X[0])
    RowBias.apply(x, b).pow(2).sum().backward()
    (tx + tb).pow(2).sum().backward()
    assert_same(b.grad, tb.grad)


def test_without_gradients_the_outputs_are_plain():
    (x,), _ = both(X, grad=False)
    y = OURS["Exp"].apply(x)
    assert not y.requires_grad and y.grad_fn is None
    (x,), _ = both(X)
    with ms.no_grad():
        assert OURS["Exp"].apply(x).grad_fn is None


def test_once_differentiable_backward_records_nothing():
    from mlseries.autograd.function import once_differentiable

    class Square(ms.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            assert not ms.is_grad_enabled()
            return 2 * x * g

    (x,), _ = both(X)
    g, = ms.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * X)
    assert not g.requires_grad               # nothing to differentiate again
