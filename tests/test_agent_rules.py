"""Brute-force checks of the agents' selection rules that depend on their random particle order or on a batch:
DTS's second-best fallback, BAI-TS's second arm and the multiset explorer's greedy allocation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fakes import FixedParticles
from hypothesis import given, settings
from hypothesis import strategies as st

from duelgym.agents import BestArmThompsonAgent, DoubleThompsonAgent, MultisetAgent


def particle_orders(agent, batch: int) -> torch.Tensor:
    """The per-context particle orders the agent's next ``pairs`` call will draw (a copy of its generator)."""
    generator = torch.Generator()
    generator.set_state(agent.generator.get_state())
    return torch.rand((batch, agent.reward_model.num_particles), generator=generator).argsort(dim=1)


def test_dts_second_best_fallback_uses_the_second_particle_of_each_context() -> None:
    # Every particle's best arm is 0, so DTS always falls back; the particles disagree about the runner-up, so the
    # fallback shows which particle it read.
    features = torch.eye(4, dtype=torch.float64)[None].expand(300, 4, 4)
    weights = torch.tensor([[3.0, 2.0, 1.0, 0.0], [3.0, 0.0, 2.0, 1.0], [3.0, 1.0, 0.0, 2.0]])
    agent = DoubleThompsonAgent(4, 4, reward_model=FixedParticles(weights), seed=5)
    order = particle_orders(agent, 300)
    pairs = agent.pairs(features)
    runner_up = torch.tensor([1, 2, 3])  # of particles 0, 1, 2
    assert (pairs[:, 0] == 0).all()
    assert torch.equal(pairs[:, 1], runner_up[order[:, 1]])
    assert not torch.equal(pairs[:, 1], runner_up[order[:, 0]])


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6))
def test_bai_ts_second_arm_maximises_the_variance_of_the_difference_by_brute_force(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    model = FixedParticles(torch.randn(6, 3, generator=generator))
    features = torch.randn(4, 7, 3, generator=generator, dtype=torch.float64)
    agent = BestArmThompsonAgent(7, 3, reward_model=model, seed=seed)
    order = particle_orders(agent, 4)
    pairs = agent.pairs(features)
    samples = model.sample_utilities(features)  # (M, B, N)
    for b in range(4):
        first, second = pairs[b].tolist()
        assert first == int(samples[order[b, 0], b].argmax())
        variances = {
            j: float(np.var([samples[k, b, first] - samples[k, b, j] for k in range(6)]))
            for j in range(7)
            if j != first
        }
        assert variances[second] == pytest.approx(max(variances.values()), rel=1e-9)


def brute_force_allocation(mean, features, design, tolerance: float) -> list[tuple[int, int]]:
    """The greedy multiset allocation computed naively: for each context in order, the challenger c that
    minimises max over a ≠ best of ‖a − best‖² in the inverse of (V + chosen so far + x_c x_cᵀ) over Δ̂(a)²."""
    pairs, design = [], design.clone()
    for b in range(features.shape[0]):
        best = int(mean[b].argmax())
        gaps = [max(tolerance, float(mean[b, best] - mean[b, a])) for a in range(features.shape[1])]
        scores = {}
        for c in range(features.shape[1]):
            if c == best:
                continue
            x = features[b, best] - features[b, c]
            inverse = torch.linalg.inv(design + torch.outer(x, x))
            scores[c] = max(
                float((features[b, a] - features[b, best]) @ inverse @ (features[b, a] - features[b, best]))
                / gaps[a] ** 2
                for a in range(features.shape[1])
                if a != best
            )
        challenger = min(scores, key=scores.get)
        x = features[b, best] - features[b, challenger]
        design = design + torch.outer(x, x)
        pairs.append((best, challenger))
    return pairs


@settings(max_examples=20)
@given(seed=st.integers(0, 10**6), tolerance=st.sampled_from([0.01, 0.1, 1.0]))
def test_multiset_allocation_matches_a_naive_greedy_design(seed: int, tolerance: float) -> None:
    generator = torch.Generator().manual_seed(seed)
    model = FixedParticles(torch.randn(3, 4, generator=generator))
    features = torch.randn(5, 6, 4, generator=generator, dtype=torch.float64)
    agent = MultisetAgent(6, 4, reward_model=model, tolerance=tolerance, seed=0)
    # A design with history: V = λI plus some earlier queries.
    history = torch.randn(8, 4, generator=generator, dtype=torch.float64)
    agent._learn(history, torch.zeros_like(history), torch.ones(8, dtype=torch.float64))
    expected = brute_force_allocation(model.mean_utility(features), features, agent.design, tolerance)
    assert [tuple(p) for p in agent.pairs(features).tolist()] == expected


def test_dts_second_arm_is_the_first_later_particle_that_differs_not_the_fallback() -> None:
    # Particles 0 and 1 prefer arm 0 (runner-up arm 1); particle 2 prefers arm 2. In a context whose order starts
    # with particles 0 and 1, the first try agrees with the first arm, the second try differs: DTS must take arm 2
    # from it, not the second particle's runner-up (arm 1).
    features = torch.eye(3, dtype=torch.float64)[None].expand(300, 3, 3)
    weights = torch.tensor([[3.0, 2.0, 0.0], [3.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    agent = DoubleThompsonAgent(3, 3, reward_model=FixedParticles(weights), seed=2)
    order = particle_orders(agent, 300)
    pairs = agent.pairs(features)
    late = order[:, 2] == 2  # the two arm-0 particles come first
    assert late.any()
    assert (pairs[late] == torch.tensor([0, 2])).all()


@pytest.mark.parametrize("best", [0, 3])
def test_dts_uniform_fallback_draws_every_other_arm_and_never_the_first(best: int) -> None:
    features = torch.eye(4, dtype=torch.float64)[None].expand(2000, 4, 4)
    weights = torch.zeros(3, 4)
    weights[:, best] = 1.0  # every particle agrees: DTS always falls back
    agent = DoubleThompsonAgent(4, 4, reward_model=FixedParticles(weights), fallback="uniform", seed=0)
    pairs = agent.pairs(features)
    assert (pairs[:, 0] == best).all()
    counts = torch.bincount(pairs[:, 1], minlength=4)
    assert counts[best] == 0
    others = [a for a in range(4) if a != best]
    assert all(abs(counts[a].item() / 2000 - 1 / 3) < 0.05 for a in others), counts


def test_dts_second_best_fallback_never_repeats_the_first_arm_even_with_negative_utilities() -> None:
    # Masking the first arm must remove it whatever the utilities' sign (a mask of 0 would keep it here).
    features = torch.eye(4, dtype=torch.float64)[None].expand(50, 4, 4)
    weights = torch.tensor([[-1.0, -2.0, -3.0, -4.0]]).expand(3, 4)
    pairs = DoubleThompsonAgent(4, 4, reward_model=FixedParticles(weights), seed=0).pairs(features)
    assert (pairs == torch.tensor([0, 1])).all()
