"""Test doubles and helpers shared by the agent, reward-model and runner tests."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

import duelgym.agents


class FixedParticles:
    """A reward model with given particle utilities u_k(f) = w_k · f (M particles, weights (M, d)); it does not
    learn, so an agent's rule can be checked against a brute-force computation on known utilities."""

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights.double()
        self.num_particles, self.input_dim = weights.shape
        self.device = torch.device("cpu")
        self.dtype = torch.float64

    def update(self, features_first, features_second, choices) -> dict[str, float]:
        return {}

    def sample_utilities(self, features) -> torch.Tensor:
        return (torch.as_tensor(features, dtype=torch.float64) @ self.weights.T).movedim(-1, 0)

    def mean_utility(self, features) -> torch.Tensor:
        return self.sample_utilities(features).mean(dim=0)


def queried_pairs(name: str, seed: int, env: Any, steps: int) -> list:
    """The pairs the agent ``name`` (built with ``seed``) queries over ``steps`` steps of the vector ``env``, which is
    reset with seed 0 so that only the agent's seed varies between calls."""
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make(name, env, seed=seed)
    pairs_seen = []
    for _ in range(steps):
        pairs = agent.select(obs)
        next_obs, reward, _, _, _ = env.step(pairs)
        agent.observe(obs, pairs, reward)
        pairs_seen.append(pairs.tolist())
        obs = next_obs
    return pairs_seen


def kill_after_lines(command: list[str], metrics: Path, lines: int, timeout: float = 120.0) -> None:
    """Start ``command``, wait until ``metrics`` holds ``lines`` lines (or the command ends, or ``timeout`` s
    pass), then SIGKILL it: a run killed mid-way, as by a crash."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if metrics.exists() and metrics.read_text().count("\n") >= lines:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
