"""hw12.lander — 强化学习：策略梯度让登月器着陆 / HW12 reinforcement learning on LunarLander.

**The original lab.** HW12 of ML 2022 Spring trains an agent (智能体) to land gymnasium's (then
gym's) LunarLander: each step it sees 8 numbers (position, velocity, angle, angular velocity, and
whether each leg touches the ground) and fires one of 4 actions (nothing, left engine, main
engine, right engine). The reward (奖励) is shaped: moving toward the pad and slowing down earns,
firing engines costs a little, crashing −100, coming to rest +100, each leg on the ground +10;
an episode (回合) of ≥ 200 counts as solved. The TA's sample is REINFORCE on a small tanh MLP,
every action of an episode weighted by that episode's total reward; the lab asks for discounted
and normalised returns and for actor-critic. The leaderboard scored the mean reward of test
episodes (simple 0, medium 100, strong 170, boss 270).

**The substitute** is the same environment, `LunarLander-v3` of `gymnasium[box2d]` (the lab's
v2 with bugs fixed), run offline; only the simulation is gymnasium's — every network trains on the
engine. The policy π(a|s) is the TA's kind of network, a tanh MLP (8 → 64 → 64 → 4, the same for
every rung so that only the technique changes); actor-critic adds a value network V(s) of the same
shape. Each rung trains on the same budget of environment steps, then plays **100 test episodes**
on seeds it never trained on, its actions **sampled** from π(a|s) as in the TA's test code, and its
score is their mean return. (Greedy actions — always the most probable one — did worse in a first
full run: a stochastic policy's single most likely action is not a policy it was trained to be,
and greedy landers often hover until the 1 000-step limit.) The full run's 100-episode
mean is the lab's test: **target: mean reward ≥ 100 over 100 test episodes in the full run.**

**The rungs** (`agents.py` has the formulas):

0. *random policy* — uniform random actions: the floor (it crashes: about −170), measured on the
   same test episodes but not a rung of the ladder, which starts at the sample.
1. *REINFORCE, episode return (the TA's sample)* — every log π(a_t|s_t) of an episode scaled by
   the episode's total reward R: the simplest unbiased policy gradient, and a very noisy one.
2. *+ discounted return-to-go* — each action weighted by G_t = Σ_k γ^k r_{t+k} (γ = 0.99): credit
   only for what came after it (cause precedes effect), distant rewards counting less.
3. *+ normalised returns* — G_t standardised over the batch: its mean is a baseline (基线), so
   worse-than-usual actions are pushed down, and the step no longer scales with the rewards' size.
4. *actor-critic* — a critic V(s) learns the return to expect from each state; the advantage
   (优势) Â_t = generalised advantage estimate (GAE) says how much better the action was than the
   critic expected; with a critic to lean on, γ = 0.999 and λ = 0.98 (landing comes hundreds of
   steps after the decisions that earn it). 16 environments are stepped together so the engine sees one batch of
   16 observations per step, and the networks update after every rollout of 16 × 16 steps (A2C).
5. *+ PPO clipping (extra rung)* — actor-critic alone uses each rollout for one gradient step and
   does not reach the target in this budget; proximal policy optimisation collects rollouts of 16 × 128
   steps and reuses each for 4 epochs of minibatches of 128, clipping the probability ratio to [0.8, 1.2] so that no update strays far from the
   policy that collected the data. It is named as an extra rung, beyond what the lab asks.

**What to expect** (full run, seed 0, mean test reward): random −171.4; sample 21.78; discounted
28.17; normalised 94.13; actor-critic 51.47; PPO 183.8 — the target is met by the extra PPO rung
alone, and most of its test landers come to rest between the flags (73 % of episodes ≥ 200).

**Quick mode** (`--quick`, seconds) cannot land a lander: it runs the same ladder on gymnasium's
`CartPole-v1` (balance a pole; +1 per step, at most 500), where policy gradients learn in seconds,
and checks that the order is the full run's: the random policy lowest, the sample above it, the
best rung above the sample, and the actor-critic's training returns rising above the random
policy's.

    mlseries run hw12 [--quick]
"""
import time

import numpy as np

import mlseries as ms
from mlseries import viz

from ...course.registry import lesson
from ..ladder import Ladder
from . import agents
from .envs import TEST_SEED, make, run_episodes

# env: the environment; steps: environment steps each trained rung gets; test: test episodes;
# episodes: whole episodes per REINFORCE update; window: episodes in the curves' moving average
FULL = dict(env="LunarLander-v3", obs=8, actions=4, steps=700_000, test=100, episodes=16, window=100,
            target=100.0, gif_frames=150)
QUICK = dict(env="CartPole-v1", obs=4, actions=2, steps=25_000, test=20, episodes=8, window=20,
             target=None, gif_frames=50)
NET = dict(hidden=(64, 64), gamma=0.99)
REINFORCE = dict(lr=3e-3)
# actor-critic: 16 environments together; GAE λ; the critic's loss weight; an entropy bonus (keeps
# exploring); gradients clipped to a norm of 0.5. A2C updates once per short rollout; PPO collects
# longer rollouts and reuses each for `epochs` passes of minibatches, clipping the ratio to 1 ± clip
ACTOR_CRITIC = dict(envs=16, value_coef=0.5, entropy=0.01, max_grad=0.5)
# γ = 0.999 and λ = 0.98 for the actor-critics: the critic's bootstrapped values keep the variance
# of a long horizon in check, and landing (+100) comes hundreds of steps after the decisions that
# earn it (with γ = 0.99, PPO reached about half the test return in 300 000 steps, same seed)
A2C = dict(ACTOR_CRITIC, gamma=0.999, lam=0.98, rollout=16, lr=1e-3)
PPO = dict(ACTOR_CRITIC, gamma=0.999, lam=0.98, rollout=128, lr=5e-4, epochs=4, minibatch=128, clip=0.2)
TRAIN_SEED = 0             # training episodes: seeds from here on, a range per rung

RANDOM = ("随机策略", "random policy")          # the floor, measured before the ladder
RUNGS = (  # name, zh, en, how
    ("sample", "整回合回报（样例）", "REINFORCE, episode return (sample)", "episode"),
    ("discounted", "+ 折扣回报", "+ discounted return-to-go", "discounted"),
    ("normalised", "+ 标准化（基线）", "+ normalised returns", "normalised"),
    ("actor_critic", "演员-评论家", "actor-critic (GAE)", "a2c"),
    ("ppo", "+ PPO 裁剪（额外）", "+ PPO clipping (extra rung)", "ppo"),
)

CAPTIONS = {
    "ladder.png": ("每个台阶在 100 个测试回合（快速模式 20 个）上的平均回报，动作按策略抽样；随机策略不在阶梯上。",
                   "Each rung's mean return over 100 test episodes (20 in quick mode), actions sampled from the "
                   "policy; the random policy (the floor) is not a rung."),
    "training.png": ("训练中每个回合的回报（滑动平均）对环境步数：随机策略在最下面，演员-评论家加 PPO 爬得最高；"
                     "完整运行中虚线是 100 分的目标。",
                     "Each training episode's return (moving average) against environment steps: the random policy "
                     "at the bottom, actor-critic with PPO climbing highest; in the full run the dashed line is "
                     "the target of 100."),
    "landing.gif": ("最好的策略在一个测试回合里（没训练过的种子）：快速模式是 CartPole。",
                    "The best policy in one test episode (a seed it never trained on); CartPole in quick mode."),
    "test_returns.png": ("测试回合回报的分布：随机策略、样例和最好的台阶。",
                         "How the test episodes' returns spread: the random policy, the sample and the best rung."),
}


# ---------------------------------------------------------------- figures

def moving_average(values, window):
    window = max(1, min(window, len(values)))
    c = np.cumsum(np.insert(np.asarray(values, float), 0, 0.0))
    return (c[window:] - c[:-window]) / window


def plot_training(curves, labels, random_mean, cfg):
    """Episode return (moving average over cfg["window"] episodes) against environment steps."""
    fig = viz.figure(figsize=(9.0, 5.0))
    ax = fig.add_subplot()
    ax.axhline(random_mean, color=viz.COLORS["reference"], ls=":", lw=1.2,
               label=viz.text("随机策略（测试）", "random policy (test)"))
    for name, curve in curves.items():
        steps, returns = np.array(curve).T
        smooth = moving_average(returns, cfg["window"])
        ax.plot(steps[len(steps) - len(smooth):], smooth, lw=1.6, label=labels[name])
    if cfg["target"] is not None:
        ax.axhline(cfg["target"], color=viz.COLORS["learned"], ls="--", lw=1.2,
                   label=viz.text(f"目标 {cfg['target']:g}", f"target {cfg['target']:g}"))
    ax.set(title=viz.text(f"{cfg['env']} 的训练曲线（{cfg['window']} 回合滑动平均）",
                          f"Training on {cfg['env']} ({cfg['window']}-episode moving average)", sep="\n"),
           xlabel=viz.text("环境步数", "environment steps"), ylabel=viz.text("回合回报", "episode return"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)
    return fig


def plot_test_returns(results, labels, cfg):
    """Histograms of the test returns of a few rungs, on shared bins."""
    fig = viz.figure(figsize=(8.0, 5.6))
    ax = fig.add_subplot()
    everything = np.concatenate(list(results.values()))
    bins = np.linspace(everything.min(), everything.max(), 31)
    for (name, returns), color in zip(results.items(), (viz.COLORS["reference"], viz.COLORS["data"],
                                                          viz.COLORS["learned"])):
        # outlines over a light fill: three overlapping histograms stay apart
        ax.hist(returns, bins=bins, color=color, alpha=0.15)
        ax.hist(returns, bins=bins, histtype="step", lw=1.8, color=color,
                label=f"{labels[name]}: {returns.mean():.0f}")
    if cfg["target"] is not None:
        ax.axvline(cfg["target"], color=viz.COLORS["search"], ls="--", lw=1.4,
                   label=viz.text("目标：平均 ≥ 100", "target: mean ≥ 100"))
    ax.set(title=viz.text(f"{len(everything) // len(results)} 个测试回合的回报",
                          f"Returns of {len(everything) // len(results)} test episodes"),
           xlabel=viz.text("回合回报", "episode return"), ylabel=viz.text("回合数", "episodes"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5, ncol=1)
    return fig


def record_landing(ctx, policy, cfg, label):
    """The first test episode (sampled actions, as in the test) rendered by gymnasium (rgb_array,
    offscreen), as a GIF of at most cfg["gif_frames"] frames."""
    env = make(cfg["env"], render=True)
    obs, _ = env.reset(seed=TEST_SEED)
    act = agents.sampling_actor(policy, ctx.rng(99))
    frames, rewards, done = [env.render()], [0.0], False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(act(obs[None])[0]))
        done = terminated or truncated
        frames.append(env.render())
        rewards.append(reward)
    env.close()
    total = np.cumsum(rewards)
    stride = -(-len(frames) // cfg["gif_frames"])
    keep = list(range(0, len(frames), stride))
    keep += [len(frames) - 1] if keep[-1] != len(frames) - 1 else []
    fig = viz.figure(figsize=(4.8, 3.9))
    ax = fig.add_subplot()
    image = ax.imshow(frames[0])
    ax.set_axis_off()
    ax.set_title(viz.text(f"{label[0]}", f"{label[1]}", sep="\n"), fontsize=9)
    caption = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=9,
                      bbox=dict(facecolor="white", alpha=0.8, lw=0))
    # ≥ 3 s loop: 8 frames a second at most, fewer for a short episode
    fps = min(12, max(2, len(keep) // 4))
    with ctx.gif("landing.gif", fps=fps, hold_last=2.0) as gif:
        for i in keep:
            image.set_data(frames[i])
            caption.set_text(viz.text(f"第 {i} 步 回报 {total[i]:.0f}", f"step {i}  return {total[i]:.0f}"))
            gif.add(fig)
    return float(total[-1]), len(frames) - 1


# ---------------------------------------------------------------- the lab

def train_rung(how, cfg, seed, stream, ctx, name):
    """Train one rung's policy; returns (policy, curve [(env steps, episode return)])."""
    rng = ctx.rng(stream)
    ms.manual_seed(ctx.seed + stream)
    base = dict(obs=cfg["obs"], actions=cfg["actions"], steps=cfg["steps"], **NET)
    bar = ctx.progress(None, desc=name, total=cfg["steps"])
    progress = lambda steps: bar.update(min(steps, cfg["steps"]) - bar.n)   # noqa: E731
    try:
        if how in ("episode", "discounted", "normalised"):
            return agents.reinforce(cfg["env"], dict(base, episodes=cfg["episodes"], **REINFORCE), how, rng, seed,
                                    progress)
        ac = PPO if how == "ppo" else A2C
        policy, _, curve = agents.actor_critic(cfg["env"], {**base, **ac}, rng, seed, clip=ac.get("clip"),
                                               progress=progress)
        return policy, curve
    finally:
        bar.close()


@lesson("hw12.lander", "HW12 强化学习：策略梯度与演员-评论家", "HW12 reinforcement learning: policy gradients and actor-critic")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    ctx.log(f"environment {cfg['env']}; {cfg['steps']} training steps per rung; "
            f"{cfg['test']} test episodes, sampled actions (seeds from {TEST_SEED})")
    labels = {name: viz.text(zh, en) for name, zh, en, _ in RUNGS}
    labels["random"] = viz.text(*RANDOM)

    # the floor: uniformly random actions on the test episodes (not a rung: the ladder starts at the sample)
    rng = ctx.rng(0)
    tests = {"random": run_episodes(cfg["env"], lambda obs: rng.integers(0, cfg["actions"], len(obs)),
                                    cfg["test"], TEST_SEED)[0]}
    random_score = tests["random"].mean()
    ctx.log(f"random policy: mean reward {random_score:.2f} over {cfg['test']} test episodes (the floor)")
    ctx.record(random_score=random_score, test_std_random=tests["random"].std())

    ladder = Ladder(ctx, "hw12")
    curves, policies = {}, {}
    for stream, (name, zh, en, how) in enumerate(RUNGS, start=1):
        with ladder.rung(name, zh, en) as rung:
            start = time.perf_counter()
            policy, curves[name] = train_rung(how, cfg, TRAIN_SEED + stream * 10_000_000, stream, ctx, name)
            policies[name] = policy
            last = np.array(curves[name])[-cfg["window"]:, 1].mean()
            ctx.log(f"{name}: trained in {time.perf_counter() - start:.0f} s, {len(curves[name])} episodes, "
                    f"last {cfg['window']} training episodes' mean return {last:.1f}")
            returns, lengths, _ = run_episodes(cfg["env"], agents.sampling_actor(policy, ctx.rng(100 + stream)),
                                               cfg["test"], TEST_SEED)
            tests[name] = returns
            rung.score = returns.mean()
            ctx.record(**{f"test_std_{name}": returns.std(), f"test_length_{name}": lengths.mean()})
    best = ladder.finish()
    scores = {r.name: r.score for r in ladder.rungs}

    # how the actor-critic's training went: its first and last window of episodes
    ac = np.array(curves["actor_critic"])[:, 1]
    ac_first, ac_last = ac[:cfg["window"]].mean(), ac[-cfg["window"]:].mean()
    ctx.record(env=cfg["env"], steps_per_rung=cfg["steps"], test_episodes=cfg["test"],
               ac_train_first=ac_first, ac_train_last=ac_last,
               solved_fraction_best=float(np.mean(tests[best.name] >= 200)))

    ctx.save_figure(plot_training(curves, labels, random_score, cfg), "training.png")
    shown = {n: tests[n] for n in dict.fromkeys(("random", "sample", best.name))}
    ctx.save_figure(plot_test_returns(shown, labels, cfg), "test_returns.png")
    gif_return, gif_steps = record_landing(ctx, policies[best.name], cfg,
                                           (f"{best.technique_zh}，{cfg['env']}", f"{best.technique_en}, {cfg['env']}"))
    ctx.log(f"landing.gif: one test episode of the {best.name} policy, {gif_steps} steps, "
            f"return {gif_return:.1f}")

    ctx.check("REINFORCE sample beats the random policy", scores["sample"] > random_score)
    ctx.check("the best rung beats the sample", best.score > scores["sample"])
    ctx.check("actor-critic's training returns rise above the random policy's", ac_last > random_score)
    if cfg["target"] is not None:
        ctx.check(f"mean reward ≥ {cfg['target']:g} over {cfg['test']} test episodes", best.score >= cfg["target"])
