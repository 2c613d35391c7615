"""HW12's agents: a policy network, the REINFORCE family, and actor-critic (with PPO's clipping).

**Policy gradient** (策略梯度). The policy π(a|s) is an MLP giving 4 logits (do nothing, left
engine, main engine, right engine). REINFORCE raises the log-probability of each action taken
in proportion to a weight Ψ_t that says how good it turned out:

    loss = −mean_t[ Ψ_t · log π(a_t | s_t) ]

and the rungs differ only in Ψ_t:

* the episode's total return R (the TA's sample): every action of a good episode is pushed up,
  even those before a lucky or after a fatal moment;
* the discounted return-to-go G_t = Σ_k γ^k r_{t+k} (累积折扣回报): an action is credited only with
  what came after it, and distant rewards count less;
* G_t normalised over the batch (减去基线): the batch mean is a baseline, so below-average actions
  are pushed *down*, and the scale of the rewards no longer sets the step size;
* the advantage Â_t from a learned value network V(s) (actor-critic, 演员-评论家): the critic's
  estimate of what an average action would have earned from s_t is the baseline, state by state;
  Â_t is the generalised advantage estimate (GAE, λ-weighted TD errors δ_t = r_t + γV(s_{t+1}) − V(s_t)).

**PPO's clipping** (近端策略优化) lets the actor-critic reuse each batch for several epochs: the
ratio ρ = π_new(a|s) / π_old(a|s) enters as min(ρÂ, clip(ρ, 1 − ε, 1 + ε)Â), so no update moves
the policy far from the one that collected the data.
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn

from .envs import Batch, run_episodes


def mlp(sizes):
    """Linear layers with tanh between them: (B, sizes[0]) → (B, sizes[-1])."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def logits_of(policy, obs):
    with ms.no_grad():
        return policy(ms.tensor(np.asarray(obs, dtype=np.float32))).numpy()      # (B, A)


def sample(logits, rng):
    """One action per row of `logits` (B, A), drawn from softmax(logits)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random((len(p), 1))
    return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1)


def greedy_actor(policy):
    return lambda obs: logits_of(policy, obs).argmax(axis=1)


def sampling_actor(policy, rng):
    return lambda obs: sample(logits_of(policy, obs), rng)


def log_prob(policy, obs, actions):
    """log π(a|s) for a batch: (B,) with the graph to the policy's weights, and the entropy (B,)."""
    logp = F.log_softmax(policy(ms.tensor(obs)), dim=1)                           # (B, A)
    chosen = ms.gather(logp, 1, ms.tensor(actions.reshape(-1, 1))).reshape(-1)   # (B,)
    entropy = -(logp.exp() * logp).sum(dim=1)                                     # (B,)
    return chosen, entropy


# ---------------------------------------------------------------- returns

def discounted_returns(rewards, gamma):
    """G_t = r_t + γ G_{t+1} over one episode's rewards (T,) → (T,)."""
    out, g = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        out[t] = g
    return out


def gae(rewards, values, dones, last_values, gamma, lam):
    """Generalised advantage estimates for a rollout of T steps of N environments.
    rewards, values, dones: (T, N); last_values (N,): V of the observation after the last step.
    A step that ended its episode does not look past it. Returns (advantages, returns), (T, N)."""
    T = len(rewards)
    adv = np.zeros_like(values)
    running = np.zeros(values.shape[1])
    for t in range(T - 1, -1, -1):
        next_values = last_values if t == T - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * alive - values[t]       # the TD error δ_t
        running = delta + gamma * lam * alive * running
        adv[t] = running
    return adv, adv + values


# ---------------------------------------------------------------- REINFORCE

def weights(paths, kind, gamma):
    """Ψ_t for every step of the batch's episodes, concatenated: kind is "episode" (the total
    return R), "discounted" (G_t) or "normalised" (G_t standardised over the batch)."""
    if kind == "episode":
        psi = [np.full(len(p["rewards"]), np.sum(p["rewards"])) for p in paths]
    else:
        psi = [discounted_returns(np.array(p["rewards"]), gamma) for p in paths]
    psi = np.concatenate(psi)
    if kind == "normalised":
        psi = (psi - psi.mean()) / (psi.std() + 1e-8)
    return psi.astype(np.float32)


def reinforce(env, cfg, kind, rng, seed, progress=None):
    """Train a policy with REINFORCE, `cfg["episodes"]` whole episodes per update, until
    `cfg["steps"]` environment steps. Returns (policy, curve [(steps, episode return)])."""
    policy = mlp([cfg["obs"], *cfg["hidden"], cfg["actions"]])
    optimizer = ms.optim.Adam(policy.parameters(), lr=cfg["lr"])
    steps, curve, update = 0, [], 0
    while steps < cfg["steps"]:
        returns, lengths, paths = run_episodes(env, sampling_actor(policy, rng), cfg["episodes"],
                                               seed + update * cfg["episodes"])
        for r, n in zip(returns, lengths):
            steps += int(n)
            curve.append((steps, float(r)))
        obs = np.concatenate([np.array(p["obs"]) for p in paths]).astype(np.float32)    # (S, d)
        actions = np.concatenate([p["actions"] for p in paths]).astype(np.int64)      # (S,)
        psi = ms.tensor(weights(paths, kind, cfg["gamma"]))                           # (S,)
        chosen, _ = log_prob(policy, obs, actions)
        loss = -(psi * chosen).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update += 1
        if progress:
            progress(steps)
    return policy, curve


# ---------------------------------------------------------------- actor-critic and PPO

def policy_loss(chosen, advantages, old=None, clip=None):
    """The actor's loss from log π_new(a|s) `chosen` (B,) and advantages (B,): −mean(Â log π)
    (clip=None), or PPO's −mean(min(ρÂ, clip(ρ, 1−ε, 1+ε)Â)) with ρ = exp(chosen − old)."""
    if clip is None:
        return -(advantages * chosen).mean()
    ratio = (chosen - old).exp()                                                  # π_new / π_old, (B,)
    return -ms.minimum(ratio * advantages, ms.clamp(ratio, 1 - clip, 1 + clip) * advantages).mean()


def actor_critic(env, cfg, rng, seed, clip=None, progress=None):
    """Advantage actor-critic over a Batch of cfg["envs"] environments, rollouts of cfg["rollout"]
    steps, GAE advantages. clip=None: one gradient step per rollout (A2C). clip=ε: PPO, cfg["epochs"]
    passes over each rollout in minibatches of cfg["minibatch"] with the clipped objective.
    Returns (policy, critic, curve [(steps, episode return)])."""
    policy = mlp([cfg["obs"], *cfg["hidden"], cfg["actions"]])
    critic = mlp([cfg["obs"], *cfg["hidden"], 1])
    params = list(policy.parameters()) + list(critic.parameters())
    optimizer = ms.optim.Adam(params, lr=cfg["lr"])
    envs = Batch(env, cfg["envs"], seed)
    T, N = cfg["rollout"], cfg["envs"]
    rollouts = max(1, cfg["steps"] // (T * N))
    for k in range(rollouts):
        # anneal the learning rate to zero over training (steadier at the end)
        for group in optimizer.param_groups:
            group["lr"] = cfg["lr"] * (1 - k / rollouts)
        obs = np.zeros((T, N, cfg["obs"]), np.float32)
        actions = np.zeros((T, N), np.int64)
        rewards, dones = np.zeros((T, N)), np.zeros((T, N))
        old_logp, values = np.zeros((T, N)), np.zeros((T, N))
        for t in range(T):
            obs[t] = envs.obs
            with ms.no_grad():
                x = ms.tensor(envs.obs.astype(np.float32))                           # (N, d)
                logits = policy(x).numpy()                                          # (N, A)
                values[t] = critic(x).numpy()[:, 0]                                 # (N,)
            actions[t] = sample(logits, rng)
            logp = logits - logits.max(axis=1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
            old_logp[t] = logp[np.arange(N), actions[t]]
            _, rewards[t], dones[t] = envs.step(actions[t])
        with ms.no_grad():
            last = critic(ms.tensor(envs.obs.astype(np.float32))).numpy()[:, 0]       # (N,)
        adv, ret = gae(rewards, values, dones, last, cfg["gamma"], cfg["lam"])
        flat = dict(obs=obs.reshape(T * N, -1), actions=actions.ravel(), adv=adv.ravel().astype(np.float32),
                    ret=ret.ravel().astype(np.float32), old=old_logp.ravel().astype(np.float32))
        epochs, size = (1, T * N) if clip is None else (cfg["epochs"], cfg["minibatch"])
        for _ in range(epochs):
            order = rng.permutation(T * N)
            for start in range(0, T * N, size):
                b = order[start:start + size]
                a = flat["adv"][b]
                a = ms.tensor((a - a.mean()) / (a.std() + 1e-8))                    # (b,)
                chosen, entropy = log_prob(policy, flat["obs"][b], flat["actions"][b])
                actor_loss = policy_loss(chosen, a, ms.tensor(flat["old"][b]), clip)
                v = critic(ms.tensor(flat["obs"][b])).reshape(-1)                   # (b,)
                critic_loss = ((v - ms.tensor(flat["ret"][b])) ** 2).mean()
                loss = actor_loss + cfg["value_coef"] * critic_loss - cfg["entropy"] * entropy.mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, cfg["max_grad"])
                optimizer.step()
        if progress:
            progress(envs.steps)
    envs.close()
    return policy, critic, envs.finished
