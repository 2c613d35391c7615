"""Small loss surfaces for ch06.diagnose, where every effect of an optimiser can be seen.

- `saddle_surface`: f(x, y) = x⁴/4 − x²/2 + y²/2 has a saddle at (0, 0) and minima at (±1, 0);
- `two_weights`: Lee's one-example network ŷ = w₁·w₂·x trained on (x, ŷ) = (1, 1): the loss
  (1 − w₁w₂)² has a saddle at the origin and a valley of minima along w₁w₂ = 1;
- `bumpy`: a 1-D loss with a shallow local minimum on the way to the global one (momentum);
- `ravine`: (w₁² + 100·w₂²)/2, a hundred times steeper across than along (adaptive rates).

Every function takes an engine tensor of parameters, so gradients and Hessians come from the
engine's autograd, and the optimisers are the engine's own (`ms.optim`).
"""
import numpy as np

import mlseries as ms


def saddle_surface(p):
    x, y = p[0], p[1]
    return x ** 4 / 4 - x ** 2 / 2 + y ** 2 / 2


def two_weights(p):
    return (1 - p[0] * p[1]) ** 2


def bumpy(p):
    w = p[0]
    return w ** 4 / 20 - w ** 2 / 2 - 0.35 * w


def ravine(p):
    return (p[0] ** 2 + 100 * p[1] ** 2) / 2


def gradient_and_hessian(f, point):
    """∇f and the Hessian at `point` from the engine's second derivatives: differentiate f with
    create_graph=True, so the gradient is itself a graph, then differentiate each of its entries."""
    p = ms.tensor(np.asarray(point, dtype=np.float64), requires_grad=True)
    (g,) = ms.autograd.grad(f(p), p, create_graph=True)
    rows = [ms.autograd.grad(g[i], p, retain_graph=True)[0].numpy() for i in range(p.shape[0])]
    return g.detach().numpy(), np.array(rows)


def critical_point(f, point):
    """Classify a point by its gradient and the Hessian's eigenvalues (Lee's lecture 2):
    all positive: local minimum; all negative: local maximum; mixed signs: saddle point.
    At a saddle, the eigenvector of a negative eigenvalue is a way down."""
    g, h = gradient_and_hessian(f, point)
    eigenvalues, eigenvectors = np.linalg.eigh(h)
    if np.all(eigenvalues > 1e-9):
        kind = "local minimum"
    elif np.all(eigenvalues < -1e-9):
        kind = "local maximum"
    elif eigenvalues.min() < -1e-9 and eigenvalues.max() > 1e-9:
        kind = "saddle point"
    else:
        kind = "flat direction: the Hessian cannot tell"
    return dict(point=np.asarray(point, dtype=np.float64), gradient_norm=float(np.linalg.norm(g)),
                hessian=h, eigenvalues=eigenvalues, eigenvectors=eigenvectors, kind=kind)


def descend(f, start, make_optimizer, steps, make_scheduler=None):
    """Run an engine optimiser on f from `start`. Returns the path: an array (steps + 1, d + 1)
    of the parameters and the loss before each step (the last row: after the last step)."""
    p = ms.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    opt = make_optimizer([p])
    scheduler = make_scheduler(opt) if make_scheduler else None
    path = []
    for _ in range(steps):
        loss = f(p)
        path.append([*p.tolist(), loss.item()])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if scheduler:
            scheduler.step()
    with ms.no_grad():
        path.append([*p.tolist(), f(p).item()])
    return np.array(path)


def escape_along(f, info, distance=0.1):
    """f after a small move from a saddle along the eigenvector of its most negative eigenvalue,
    minus f at the saddle: negative, because f ≈ f(θ′) + ½ λ‖u‖² there, and λ < 0."""
    u = info["eigenvectors"][:, 0]
    with ms.no_grad():
        here = f(ms.tensor(info["point"])).item()
        moved = f(ms.tensor(info["point"] + distance * u)).item()
    return moved - here
