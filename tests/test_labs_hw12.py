"""HW12: the quick ladder on CartPole (REINFORCE variants → actor-critic → PPO) and its targets,
and the hand-written parts: discounted returns, GAE, the REINFORCE weights, action sampling, the
policy-gradient and PPO losses against their definitions, and seeded environments."""
import numpy as np
import pytest

import mlseries as ms
from mlseries import nn
from mlseries.labs.hw12 import agents, lander
from mlseries.labs.hw12.envs import Batch, run_episodes

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw12.lander",))


def test_quick_ladder_numbers(runs):
    _, output, record, _ = runs("hw12.lander")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == [f"score_{r[0]}" for r in lander.RUNGS]
    assert m["env"] == "CartPole-v1" and m["test_episodes"] == lander.QUICK["test"]
    # the full run's order: the floor < the sample < the best rung, and the best is an actor-critic
    assert m["random_score"] < m["score_sample"] < m["best_score"]
    assert m["best_rung"] in ("ppo", "normalised")
    assert m["score_normalised"] > m["score_sample"]                        # the baseline helps
    assert m["ac_train_last"] > m["ac_train_first"]                         # actor-critic learns
    assert "original leaderboard (mean reward" in output and "random policy: mean reward" in output


def test_discounted_returns():
    r = np.array([1.0, 0.0, 2.0, -1.0])
    g = agents.discounted_returns(r, 0.5)
    assert g == pytest.approx([1 + 0.25 * 2 - 0.125, 0.5 * 2 - 0.25, 2 - 0.5, -1.0])
    assert agents.discounted_returns(r, 1.0) == pytest.approx(np.cumsum(r[::-1])[::-1])


def test_gae_limits_and_episode_ends():
    rng = np.random.default_rng(0)
    T, N, gamma = 6, 3, 0.9
    rewards, values, last = rng.normal(size=(T, N)), rng.normal(size=(T, N)), rng.normal(size=N)
    dones = np.zeros((T, N))
    # λ = 0: one-step TD errors
    adv, ret = agents.gae(rewards, values, dones, last, gamma, 0.0)
    next_values = np.vstack([values[1:], last])
    assert adv == pytest.approx(rewards + gamma * next_values - values)
    assert ret == pytest.approx(adv + values)
    # λ = 1: the discounted return (bootstrapped from the last value) minus V
    adv, _ = agents.gae(rewards, values, dones, last, gamma, 1.0)
    for n in range(N):
        g = agents.discounted_returns(np.append(rewards[:, n], last[n]), gamma)[:-1]
        assert adv[:, n] == pytest.approx(g - values[:, n])
    # an episode ending at step 2 of environment 0: steps ≤ 2 never see past it
    dones[2, 0] = 1
    adv, _ = agents.gae(rewards, values, dones, last, gamma, 1.0)
    g = agents.discounted_returns(rewards[:3, 0], gamma)
    assert adv[:3, 0] == pytest.approx(g - values[:3, 0])


def test_reinforce_weights():
    paths = [dict(rewards=[1.0, 2.0]), dict(rewards=[-1.0, 0.0, 4.0])]
    assert agents.weights(paths, "episode", 0.9) == pytest.approx([3, 3, 3, 3, 3])
    assert agents.weights(paths, "discounted", 0.5) == pytest.approx([2, 2, -1 + 0 + 1, 2, 4])
    w = agents.weights(paths, "normalised", 0.5)
    assert w.mean() == pytest.approx(0, abs=1e-6) and w.std() == pytest.approx(1, rel=1e-4)


def test_sample_follows_the_softmax():
    logits = np.array([[0.0, np.log(3.0)], [np.log(4.0), 0.0]])       # probabilities 1/4 3/4, 4/5 1/5
    rng = np.random.default_rng(0)
    draws = np.stack([agents.sample(logits, rng) for _ in range(20000)])   # (20000, 2)
    assert draws[:, 0].mean() == pytest.approx(0.75, abs=0.015)
    assert draws[:, 1].mean() == pytest.approx(0.2, abs=0.015)


def test_policy_gradient_against_its_formula():
    """∂/∂W of −mean(ψ log softmax(xW + b)[a]) is −xᵀ(ψ ⊙ (onehot(a) − p)) / B for a linear policy."""
    rng = np.random.default_rng(1)
    ms.manual_seed(0)
    policy = nn.Linear(5, 3)
    x = rng.normal(size=(7, 5)).astype(np.float32)
    a = rng.integers(0, 3, 7)
    psi = rng.normal(size=7).astype(np.float32)
    chosen, entropy = agents.log_prob(policy, x, a)
    agents.policy_loss(chosen, ms.tensor(psi)).backward()
    z = x @ policy.weight.detach().numpy().T + policy.bias.detach().numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert chosen.numpy() == pytest.approx(np.log(p[np.arange(7), a]), rel=1e-5)
    assert entropy.numpy() == pytest.approx(-(p * np.log(p)).sum(1), rel=1e-5)
    g = -(psi[:, None] * (np.eye(3)[a] - p)) / 7                          # (B, 3): ∂loss/∂z
    assert policy.weight.grad.numpy() == pytest.approx(g.T @ x, abs=1e-6)


def test_ppo_loss_clips():
    old = ms.tensor(np.log(np.full(4, 0.5, np.float32)))
    new = np.log(np.array([0.5, 0.9, 0.9, 0.2], np.float32))               # ratios 1, 1.8, 1.8, 0.4
    adv = ms.tensor(np.array([1.0, 1.0, -1.0, -1.0], np.float32))
    chosen = ms.tensor(new, requires_grad=True)
    loss = agents.policy_loss(chosen, adv, old, clip=0.2)
    # min(ρA, clip(ρ)A): 1; 1.2 (clipped, no gradient); −1.8 (unclipped); −0.8 (clipped, no gradient)
    assert loss.item() == pytest.approx(-(1 + 1.2 - 1.8 - 0.8) / 4, rel=1e-5)
    loss.backward()
    assert chosen.grad.numpy() == pytest.approx([-0.25, 0, 1.8 / 4, 0], abs=1e-6)
    # with ρ = 1 everywhere PPO's loss and gradient are the plain policy gradient's
    assert agents.policy_loss(old, adv, old, 0.2).item() == pytest.approx(agents.policy_loss(old, adv).item())


def test_environments_are_seeded():
    a = run_episodes("CartPole-v1", lambda obs: (obs[:, 2] > 0).astype(int), 4, 123)
    b = run_episodes("CartPole-v1", lambda obs: (obs[:, 2] > 0).astype(int), 4, 123, batch=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[1].sum() == sum(len(p["actions"]) for p in a[2])
    one, two = Batch("CartPole-v1", 3, 7), Batch("CartPole-v1", 3, 7)
    for _ in range(40):
        actions = np.array([0, 1, 1])
        o1, r1, d1 = one.step(actions)
        o2, r2, d2 = two.step(actions)
        assert np.array_equal(o1, o2) and np.array_equal(d1, d2)
    assert one.finished == two.finished and one.finished                  # episodes ended and restarted
    assert one.steps == 120 and all(0 < s <= 120 for s, _ in one.finished)
