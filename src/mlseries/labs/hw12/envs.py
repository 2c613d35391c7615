"""HW12's environments: a batch of gymnasium environments stepped together, and the test episodes.

The engine runs one forward pass per call whatever the batch size, and a small MLP's forward
costs about as much for 16 observations as for one; so the lab steps a list of environments in
lock-step and hands the policy one (N, 8) batch per step. gymnasium only simulates the lander.

Seeds: environment i of a batch seeded s is reset with seed s + i the first time and with
s + i + k·N at its k-th automatic reset, so the same seed gives the same episodes, and the test
episodes (seeds from TEST_SEED) are never ones the agent trained on.
"""
import os

import numpy as np

import gymnasium as gym

TEST_SEED = 1_000_000        # test episodes: seeds far from every training seed


def make(name, render=False):
    if render:
        # pygame (the renderer of rgb_array frames) needs no window; set before gymnasium's
        # renderer imports it, and only when a frame is asked for
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return gym.make(name, render_mode="rgb_array" if render else None)


class Batch:
    """N environments stepped together, each reset automatically when its episode ends.

    `step(actions)` returns (obs (N, d), rewards (N,), dones (N,)); `finished` collects
    (environment steps so far, episode return) for every episode that ended, for the training
    curves. An episode cut off at the time limit counts as done (the lander then hovers;
    bootstrapping its value instead would matter little here)."""

    def __init__(self, name, n, seed):
        self.envs = [make(name) for _ in range(n)]
        self.n, self.seed = n, seed
        self.resets = np.zeros(n, dtype=np.int64)
        self.returns = np.zeros(n)
        self.steps = 0
        self.finished = []
        self.obs = np.stack([self._reset(i) for i in range(n)])          # (N, d)

    def _reset(self, i):
        obs, _ = self.envs[i].reset(seed=int(self.seed + i + self.resets[i] * self.n))
        self.resets[i] += 1
        return obs

    def step(self, actions):
        rewards, dones = np.zeros(self.n), np.zeros(self.n, dtype=bool)
        for i, (env, a) in enumerate(zip(self.envs, actions)):
            obs, reward, terminated, truncated, _ = env.step(int(a))
            rewards[i], dones[i] = reward, terminated or truncated
            self.returns[i] += reward
            if dones[i]:
                self.finished.append((self.steps + i + 1, self.returns[i]))
                self.returns[i] = 0.0
                obs = self._reset(i)
            self.obs[i] = obs
        self.steps += self.n
        return self.obs.copy(), rewards, dones

    def close(self):
        for env in self.envs:
            env.close()


def run_episodes(name, act, episodes, seed, batch=None):
    """Play `episodes` whole episodes (seeds seed, seed+1, …), `batch` of them at a time in
    lock-step; act(obs (B, d)) → actions (B,). Returns (returns (episodes,), lengths (episodes,),
    steps): the episode returns, lengths, and all the (obs, action) pairs seen, for REINFORCE."""
    batch = batch or episodes
    returns, lengths, trajectories = [], [], []
    for start in range(0, episodes, batch):
        envs = [make(name) for _ in range(min(batch, episodes - start))]
        obs = np.stack([env.reset(seed=seed + start + i)[0] for i, env in enumerate(envs)])   # (B, d)
        active = np.ones(len(envs), dtype=bool)
        total, length = np.zeros(len(envs)), np.zeros(len(envs), dtype=np.int64)
        paths = [dict(obs=[], actions=[], rewards=[]) for _ in envs]
        while active.any():
            idx = np.flatnonzero(active)
            actions = act(obs[idx])                                              # (b,)
            for i, a in zip(idx, actions):
                o, r, terminated, truncated, _ = envs[i].step(int(a))
                paths[i]["obs"].append(obs[i].copy())
                paths[i]["actions"].append(int(a))
                paths[i]["rewards"].append(r)
                total[i] += r
                length[i] += 1
                obs[i] = o
                if terminated or truncated:
                    active[i] = False
        for env in envs:
            env.close()
        returns.extend(total)
        lengths.extend(length)
        trajectories.extend(paths)
    return np.array(returns), np.array(lengths), trajectories
