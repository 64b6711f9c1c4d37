"""Brute-force checks of the agents' selection rules that depend on their random particle order or on a batch:
DTS's second-best fallback, BAI-TS's second arm, IDS among sampled candidates, passive's uniform pairs and the
multiset explorer's greedy allocation and design; the disagreement measures entry by entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fakes import FixedParticles
from hypothesis import given, settings
from hypothesis import strategies as st

from duelgym.agents import (
    BestArmThompsonAgent,
    BoltzmannAgent,
    DoubleThompsonAgent,
    InfomaxAgent,
    InformationDirectedAgent,
    MultisetAgent,
    PassiveAgent,
)
from duelgym.agents.uncertainty import (
    difference_variance,
    expected_pair_regret,
    flat_argmax_pairs,
    mask_diagonal,
    preference_variance,
)


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


def test_passive_queries_every_ordered_pair_of_distinct_candidates_equally_often() -> None:
    # Five candidates: not a power of two, where some wrong offsets (first XOR k) would still be uniform.
    agent = PassiveAgent(5, 2, seed=0)
    pairs = agent.pairs(torch.zeros(24_000, 5, 2))
    counts = torch.zeros(5, 5)
    counts.index_put_((pairs[:, 0], pairs[:, 1]), torch.ones(len(pairs)), accumulate=True)
    assert counts.diagonal().sum() == 0
    off_diagonal = counts[~torch.eye(5, dtype=torch.bool)] / 24_000
    assert (off_diagonal - 1 / 20).abs().max() < 0.01, counts  # 20 ordered pairs, 1/20 each (sd 0.0014)


def test_agents_whose_particles_all_agree_still_query_two_distinct_candidates() -> None:
    # No disagreement anywhere: every variance is 0 and the masks of the first arm or the diagonal must decide.
    # The best arm is arm 0, the one an unmasked argmax over all-zero variances would return.
    features = torch.eye(4, dtype=torch.float64)[None].expand(3, 4, 4)
    agree = FixedParticles(torch.tensor([[3.0, 0.0, 2.0, 1.0]]).expand(3, 4))
    for agent_class in (BestArmThompsonAgent, InfomaxAgent):
        pairs = agent_class(4, 4, reward_model=agree, seed=0).pairs(features)
        assert (pairs[:, 0] != pairs[:, 1]).all(), agent_class.__name__
    # IDS: with no information the ratio is Δ² over the floor, so the least regretful pair, the top two, wins.
    pairs = InformationDirectedAgent(4, 4, reward_model=agree, seed=0).pairs(features)
    assert (pairs == torch.tensor([0, 2])).all()


@settings(max_examples=20)
@given(seed=st.integers(0, 10**6), rule=st.sampled_from(["ratio", "max_variance"]))
def test_ids_among_sampled_candidates_picks_the_best_pair_of_the_sample(seed: int, rule: str) -> None:
    generator = torch.Generator().manual_seed(seed)
    model = FixedParticles(torch.randn(5, 3, generator=generator))
    features = torch.randn(4, 9, 3, generator=generator, dtype=torch.float64)
    agent = InformationDirectedAgent(9, 3, reward_model=model, rule=rule, num_sampled=4, seed=seed)
    replay = torch.Generator()
    replay.set_state(agent.generator.get_state())
    subsets = torch.rand((4, 9), generator=replay).argsort(dim=1)[:, :4]  # the candidates the agent draws
    pairs = agent.pairs(features)
    samples = model.sample_utilities(features)  # (M, B, N)
    for b in range(4):
        sample = subsets[b].tolist()
        u = samples[:, b]
        best = u[:, sample].max(dim=1).values  # the best of the sample under each particle
        scores = {}
        for p in sample:
            for q in sample:
                if p != q:
                    information = torch.sigmoid(u[:, p] - u[:, q]).var(unbiased=False).item()
                    regret = (2 * best - u[:, p] - u[:, q]).mean().item()
                    scores[(p, q)] = -information if rule == "max_variance" else regret**2 / max(information, 1e-12)
        assert tuple(pairs[b].tolist()) in scores
        assert scores[tuple(pairs[b].tolist())] == pytest.approx(min(scores.values()))


def test_ids_with_num_sampled_at_least_n_is_ids_on_all_candidates() -> None:
    model = FixedParticles(torch.randn(5, 3, generator=torch.Generator().manual_seed(0)))
    features = torch.randn(20, 5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    plain = InformationDirectedAgent(5, 3, reward_model=model, seed=0).pairs(features)
    for num_sampled in (5, 6, 50):
        agent = InformationDirectedAgent(5, 3, reward_model=model, num_sampled=num_sampled, seed=0)
        assert torch.equal(agent.pairs(features), plain), num_sampled  # the same pairs, in the same order


def test_ids_rule_is_compared_by_value_not_identity() -> None:
    model = FixedParticles(torch.randn(5, 3, generator=torch.Generator().manual_seed(0)))
    features = torch.randn(20, 5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rule = "".join(["max_", "variance"])  # equal to "max_variance" but another object, as if read from a config
    built = InformationDirectedAgent(5, 3, reward_model=model, rule=rule, seed=0).pairs(features)
    literal = InformationDirectedAgent(5, 3, reward_model=model, rule="max_variance", seed=0).pairs(features)
    ratio = InformationDirectedAgent(5, 3, reward_model=model, rule="ratio", seed=0).pairs(features)
    assert torch.equal(built, literal) and not torch.equal(literal, ratio)


def test_multiset_design_is_lambda_i_plus_every_queried_difference() -> None:
    agent = MultisetAgent(5, 3, reward_model=FixedParticles(torch.ones(2, 3)), design_regularization=0.5, seed=0)
    assert torch.equal(agent.design, 0.5 * torch.eye(3, dtype=torch.float64))
    rng = np.random.default_rng(0)
    expected = 0.5 * np.eye(3)
    for _ in range(3):
        arms = rng.standard_normal((4, 5, 3))
        pairs = np.stack([rng.permutation(5)[:2] for _ in range(4)])
        agent.observe({"arms": arms}, pairs, np.ones(4))
        z = arms[np.arange(4), pairs[:, 0]] - arms[np.arange(4), pairs[:, 1]]
        expected = expected + z.T @ z
    np.testing.assert_allclose(agent.design.numpy(), expected, rtol=1e-6)


def test_documented_defaults() -> None:
    model = FixedParticles(torch.ones(1, 3))
    assert BoltzmannAgent(4, 3, reward_model=model).temperature == 0.1
    multiset = MultisetAgent(4, 3, reward_model=model)
    assert multiset.tolerance == 0.1 and torch.equal(multiset.design, torch.eye(3, dtype=torch.float64))


# ---- the disagreement measures themselves (duelgym.agents.uncertainty) ----------------------------------------


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6), m=st.integers(1, 5), n=st.integers(2, 5))
def test_disagreement_measures_match_their_definitions_entry_by_entry(seed: int, m: int, n: int) -> None:
    samples = torch.randn(m, 2, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    u = samples.numpy()
    preference, regret = preference_variance(samples).numpy(), expected_pair_regret(samples).numpy()
    first = torch.tensor([n - 1, 0])
    difference = difference_variance(samples, first).numpy()
    assert preference.shape == regret.shape == (2, n, n) and difference.shape == (2, n)
    for b in range(2):
        best = u[:, b].max(axis=1)
        for i in range(n):
            assert difference[b, i] == pytest.approx(np.var(u[:, b, int(first[b])] - u[:, b, i]), abs=1e-12)
            for j in range(n):
                p = 1 / (1 + np.exp(-(u[:, b, i] - u[:, b, j])))
                assert preference[b, i, j] == pytest.approx(np.var(p), abs=1e-12)  # population variance
                assert regret[b, i, j] == pytest.approx(np.mean(2 * best - u[:, b, i] - u[:, b, j]), abs=1e-12)


@given(seed=st.integers(0, 10**6), batch=st.integers(1, 4), n=st.integers(2, 6))
def test_flat_argmax_pairs_is_the_row_and_column_of_the_largest_entry(seed: int, batch: int, n: int) -> None:
    scores = torch.randn(batch, n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    masked = mask_diagonal(scores, -7.0)
    eye = torch.eye(n, dtype=torch.bool)
    assert (masked[:, eye] == -7.0).all() and torch.equal(masked[:, ~eye], scores[:, ~eye])
    pairs = flat_argmax_pairs(scores)
    assert pairs.shape == (batch, 2) and pairs.dtype == torch.int64
    for b in range(batch):
        i, j = pairs[b].tolist()
        assert scores[b, i, j] == scores[b].max()
