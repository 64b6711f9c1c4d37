"""Cost and quality of the ENN reward model, measured side by side in one run.

    python benchmarks/enn_cost.py [--device cpu|cuda] [--threads 2] [--repeats 30] [--seeds 3]

Prints (1) the time of one ENN update with M = 100 particles against the point model on the same batch (target
≤ 3×) and against a Python loop over 100 separate particle networks doing the same update (target ≥ 10× faster),
and (2) the dyadic joint NLL of the default ENN, the point model and the exact Laplace reference on held-out
LinearDuel-v0 comparisons after 512, 1,024 and 4,000 passive comparisons (mean over seeds).

An update = add 32 comparisons to a full replay buffer, then 20 Adam steps on minibatches of 64 (the default
TrainingConfig), on 8-dimensional features with 2×64 trainable and 2×64 prior MLPs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

import duelgym
from duelgym.agents.reward_models import ENN, LaplaceRewardModel, PointRewardModel, dyadic_joint_nll
from duelgym.envs import random_comparisons

DIM, BATCH = 8, 32


def seconds_per_call(call: Callable[[], object], repeats: int, device: torch.device) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class ParticleLoop:
    """The same ENN update written as a Python loop over 100 separate trainable and prior networks."""

    def __init__(self, enn: ENN) -> None:
        self.enn = enn
        self.members = [enn.network.member(k) for k in range(enn.num_particles)]
        self.priors = [enn.prior.member(k).requires_grad_(False) for k in range(enn.num_particles)]
        self.anchors = [[p.detach().clone() for p in m.parameters()] for m in self.members]
        self.optimizer = torch.optim.Adam([p for m in self.members for p in m.parameters()], lr=1e-3)

    def _store(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        self.enn.buffer.add(
            first=first, second=second, choice=choices,
            prior_difference=torch.zeros(first.shape[0], self.enn.num_particles, device=first.device),
        )  # fmt: skip

    def update(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        self._store(first, second, choices)
        for _ in range(self.enn.training.steps_per_update):
            batch = self.enn.buffer.sample(self.enn.training.minibatch_size)
            loss = torch.zeros((), device=first.device)
            for member, prior, anchors in zip(self.members, self.priors, self.anchors, strict=True):
                logits = (member(batch["first"]) - member(batch["second"]))[:, 0]
                logits = logits + self.enn.prior_scale * (prior(batch["first"]) - prior(batch["second"]))[:, 0]
                loss = loss + F.binary_cross_entropy_with_logits(logits, batch["choice"])
                loss = loss + self.enn.regularization * sum(
                    (p - a).pow(2).sum() for p, a in zip(member.parameters(), anchors, strict=True)
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()


def timing(device: torch.device, repeats: int) -> None:
    generator = torch.Generator().manual_seed(0)

    def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        first, second = (torch.randn(BATCH, DIM, generator=generator).to(device) for _ in range(2))
        return first, second, (torch.rand(BATCH, generator=generator) < 0.5).float().to(device)

    data = batch()
    enn = ENN(DIM, num_particles=100, seed=0, device=device)
    point = PointRewardModel(DIM, seed=0, device=device)
    loop = ParticleLoop(ENN(DIM, num_particles=100, seed=0, device=device))
    for _ in range(3200 // BATCH):  # 3,200 comparisons in the replay buffers, without training
        filler = batch()
        for model in (enn, point, loop):
            model._store(*filler)
    enn_time = seconds_per_call(lambda: enn.update(*data), repeats, device)
    point_time = seconds_per_call(lambda: point.update(*data), repeats, device)
    loop_time = seconds_per_call(lambda: loop.update(*data), max(3, repeats // 10), device)
    steps = enn.training.steps_per_update
    print(f"one update ({BATCH} comparisons, {steps} Adam steps of 64) on {device}, {DIM}-d features, 2x64 MLPs:")
    print(f"  point model              {point_time * 1e3:8.2f} ms")
    print(f"  ENN, M = 100 (batched)   {enn_time * 1e3:8.2f} ms")
    print(f"  loop over 100 particles  {loop_time * 1e3:8.2f} ms")
    print(f"ENN / point model:         {enn_time / point_time:6.2f}x  (target <= 3)")
    print(f"loop / ENN:                {loop_time / enn_time:6.1f}x  (target >= 10)")


def joint_nll(seeds: int) -> None:
    checkpoints = (512, 1024, 4000)
    factories = {
        "Laplace (exact reference)": lambda seed: LaplaceRewardModel(5, seed=seed),
        "ENN (default, M = 10)": lambda seed: ENN(5, seed=seed),
        "point model": lambda seed: PointRewardModel(5, seed=seed),
    }
    results = {name: np.zeros((seeds, len(checkpoints))) for name in factories}
    for seed in range(seeds):
        for name, factory in factories.items():
            env = duelgym.make_vec("LinearDuel-v0", num_envs=BATCH)
            env.reset(seed=seed)
            rng = np.random.default_rng(seed)
            first, second, _, p_first = random_comparisons(env, 64, rng)
            model, seen = factory(seed), 0
            for i, checkpoint in enumerate(checkpoints):
                while seen < checkpoint:
                    model.update(*random_comparisons(env, 1, rng)[:3])
                    seen += BATCH
                results[name][seed, i] = dyadic_joint_nll(model, first, second, p_first)
    print(
        "\njoint NLL, dyadic sampling (kappa 2, tau 10, labels from the true p_first; nats per group of 10) on 2,048 "
        f"held-out LinearDuel-v0 comparisons, mean of {seeds} seeds:"
    )
    print(f"  {'comparisons':<28}" + "".join(f"{c:>10,}" for c in checkpoints))
    for name, values in results.items():
        print(f"  {name:<28}" + "".join(f"{v:>10.4f}" for v in values.mean(axis=0)))
    reference = results["Laplace (exact reference)"].mean(axis=0)
    excess = results["ENN (default, M = 10)"].mean(axis=0) - reference
    print(f"  {'ENN excess over Laplace':<28}" + "".join(f"{v:>10.4f}" for v in excess))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    timing(torch.device(args.device), args.repeats)
    joint_nll(args.seeds)


if __name__ == "__main__":
    main()
