"""Agents: valid pairs for any observation, brute-force checks of each rule, determinism, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from fakes import FixedParticles, queried_pairs
from hypothesis import given, settings
from hypothesis import strategies as st

import duelgym
import duelgym.agents
from duelgym.agents import (
    BoltzmannAgent,
    DoubleThompsonAgent,
    InfomaxAgent,
    InformationDirectedAgent,
    PassiveAgent,
)
from duelgym.agents.base import Agent
from duelgym.spaces import TextPair, UnicodeText

BUILT_IN = [
    "bai-ts", "boltzmann", "boltzmann-enn", "colstim", "dts", "ids", "infomax", "laplace-dts", "maxinp", "maxpairucb",
    "multiset", "passive", "passive-enn",
]  # fmt: skip


def test_built_in_agents_are_registered_and_follow_the_protocol() -> None:
    assert duelgym.agents.list_agents() == BUILT_IN
    env = duelgym.make_vec("LinearDuel-v0", num_envs=4)
    for name in BUILT_IN:
        agent = duelgym.agents.make(name, env, seed=0)
        assert isinstance(agent, Agent)
    single = duelgym.make("LinearDuel-v0")
    assert duelgym.agents.make("dts", single, seed=0).num_candidates == 32


@settings(max_examples=25)
@pytest.mark.parametrize("name", BUILT_IN)
@given(
    num_arms=st.integers(2, 9),
    dim=st.integers(1, 4),
    batch=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_every_agent_returns_valid_distinct_pairs_for_any_observation(name, num_arms, dim, batch, seed) -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=batch, dim=dim, num_arms=num_arms, arm_set="gaussian")
    obs, _ = env.reset(seed=seed)
    agent = duelgym.agents.make(name, env, seed=seed)
    for _ in range(2):
        pairs = agent.select(obs)
        assert pairs.shape == (batch, 2) and pairs.dtype == np.int64
        assert ((pairs >= 0) & (pairs < num_arms)).all()
        assert (pairs[:, 0] != pairs[:, 1]).all()
        assert pairs in env.action_space
        next_obs, reward, _, _, _ = env.step(pairs)
        agent.observe(obs, pairs, reward)
        obs = next_obs
    served = agent.respond(obs)
    assert served.shape == (batch,) and ((served >= 0) & (served < num_arms)).all()


def random_particles(seed: int, m: int = 6, d: int = 3) -> FixedParticles:
    return FixedParticles(torch.randn(m, d, generator=torch.Generator().manual_seed(seed)))


def random_features(seed: int, batch: int = 3, n: int = 5, d: int = 3) -> torch.Tensor:
    return torch.randn(batch, n, d, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)


@given(seed=st.integers(0, 10**6))
def test_infomax_returns_the_brute_force_maximum_variance_pair(seed: int) -> None:
    model = random_particles(seed)
    agent = InfomaxAgent(5, 3, reward_model=model, seed=0)
    features = random_features(seed)
    pairs = agent.pairs(features)
    samples = model.sample_utilities(features)
    for b in range(3):
        variance = {
            (i, j): torch.sigmoid(samples[:, b, i] - samples[:, b, j]).var(unbiased=False).item()
            for i in range(5)
            for j in range(5)
            if i != j
        }
        assert variance[tuple(pairs[b].tolist())] == pytest.approx(max(variance.values()))


@given(seed=st.integers(0, 10**6), rule=st.sampled_from(["ratio", "max_variance"]))
def test_ids_choice_minimises_the_ratio_by_brute_force(seed: int, rule: str) -> None:
    model = random_particles(seed)
    agent = InformationDirectedAgent(5, 3, reward_model=model, rule=rule, seed=0)
    features = random_features(seed)
    pairs = agent.pairs(features)
    samples = model.sample_utilities(features)  # (M, B, N)
    for b in range(3):
        u = samples[:, b]
        best = u.max(dim=1).values
        scores = {}
        for i in range(5):
            for j in range(5):
                if i != j:
                    regret = (2 * best - u[:, i] - u[:, j]).mean().item()
                    information = torch.sigmoid(u[:, i] - u[:, j]).var(unbiased=False).item()
                    scores[(i, j)] = regret**2 / max(information, 1e-12) if rule == "ratio" else -information
        assert scores[tuple(pairs[b].tolist())] == pytest.approx(min(scores.values()))


def test_ids_among_sampled_candidates_stays_inside_the_sample() -> None:
    agent = InformationDirectedAgent(9, 3, reward_model=random_particles(0), rule="max_variance", num_sampled=4, seed=0)
    pairs = agent.pairs(random_features(0, batch=20, n=9))
    assert (pairs[:, 0] != pairs[:, 1]).all() and pairs.max() < 9


@given(seed=st.integers(0, 10**6))
def test_boltzmann_with_tiny_temperature_returns_the_top_two_candidates(seed: int) -> None:
    model = random_particles(seed, m=1)
    agent = BoltzmannAgent(5, 3, reward_model=model, temperature=1e-9, seed=seed)
    features = random_features(seed)
    pairs = agent.pairs(features)
    ranking = model.mean_utility(features).argsort(dim=1, descending=True)
    assert torch.equal(pairs, ranking[:, :2])


def test_boltzmann_draws_follow_the_softmax() -> None:
    model = FixedParticles(torch.tensor([[1.0]]))
    features = torch.tensor([[[0.0], [0.5], [1.0]]], dtype=torch.float64).expand(20_000, 3, 1)
    # τ = 0.4: logits 0, 1.25, 2.5 (not integers, which a floor division would leave alone)
    pairs = BoltzmannAgent(3, 1, reward_model=model, temperature=0.4, seed=0).pairs(features)
    expected = torch.softmax(torch.tensor([0.0, 1.25, 2.5]), dim=0)
    frequencies = torch.bincount(pairs[:, 0], minlength=3) / 20_000
    assert torch.allclose(frequencies, expected, atol=0.015)


def test_dts_tries_other_particles_then_falls_back() -> None:
    # Particles 0-2 agree that candidate 2 is best; particle 3 prefers candidate 0.
    weights = torch.tensor([[1.0], [1.0], [1.0], [-1.0]])
    features = torch.tensor([[[0.0], [0.5], [1.0]]], dtype=torch.float64).expand(400, 3, 1)
    pairs = DoubleThompsonAgent(3, 1, reward_model=FixedParticles(weights), seed=0).pairs(features)
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert set(map(tuple, pairs.tolist())) == {(2, 0), (0, 2)}
    agree = FixedParticles(torch.ones(4, 1))
    second_best = DoubleThompsonAgent(3, 1, reward_model=agree, seed=0).pairs(features)
    assert (second_best == torch.tensor([2, 1])).all(), "best remaining arm under the second sample"
    uniform = DoubleThompsonAgent(3, 1, reward_model=agree, fallback="uniform", seed=0).pairs(features)
    assert (uniform[:, 0] == 2).all() and set(uniform[:, 1].tolist()) == {0, 1}
    one_try = DoubleThompsonAgent(3, 1, reward_model=FixedParticles(weights), max_tries=1, seed=0).pairs(features)
    assert (one_try[:, 0] != one_try[:, 1]).all()


@pytest.mark.parametrize("name", BUILT_IN)
def test_same_seed_same_pairs_and_metrics(name: str) -> None:
    def run(seed: int) -> list:
        env = duelgym.make_vec("LinearDuel-v0", num_envs=4)
        obs, _ = env.reset(seed=0)
        agent = duelgym.agents.make(name, env, seed=seed)
        out = []
        for _ in range(3):
            pairs = agent.select(obs)
            next_obs, reward, _, _, _ = env.step(pairs)
            out.append((pairs.tolist(), agent.observe(obs, pairs, reward), agent.respond(next_obs).tolist()))
            obs = next_obs
        return out

    assert run(3) == run(3)


#: Agents whose rule draws nothing at random (optimistic confidence bounds on a deterministic MAP fit).
DETERMINISTIC = {"maxinp", "maxpairucb"}


@pytest.mark.parametrize("name", BUILT_IN)
def test_different_seeds_give_different_pairs_on_the_same_observations(name: str) -> None:
    """An agent (or its reward model) that ignored its seed would repeat the same pairs; a deterministic rule must
    not depend on the seed at all."""

    def run(seed: int) -> list:
        return queried_pairs(name, seed, duelgym.make_vec("LinearDuel-v0", num_envs=16, arm_set="gaussian"), 3)

    if name in DETERMINISTIC:
        assert run(0) == run(1)
    else:
        assert run(0) != run(1)


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("seed", [0, 7])
def test_the_agent_and_its_reward_model_draw_from_independent_streams(name: str, seed: int) -> None:
    agent = duelgym.agents.make(name, duelgym.make("LinearDuel-v0"), seed=seed)
    agent_seed = agent.generator.initial_seed()
    model_seed = agent.reward_model.generator.initial_seed()
    assert agent_seed != model_seed, "one integer seeding two generators gives them the same stream"
    assert seed not in (agent_seed, model_seed), "derived seeds, not the user's seed itself"
    again = duelgym.agents.make(name, duelgym.make("LinearDuel-v0"), seed=seed)
    assert (again.generator.initial_seed(), again.reward_model.generator.initial_seed()) == (agent_seed, model_seed)
    unseeded = [duelgym.agents.make(name, duelgym.make("LinearDuel-v0")) for _ in range(2)]
    assert unseeded[0].generator.initial_seed() != unseeded[1].generator.initial_seed(), "seed=None: fresh entropy"


def test_derived_seeds_are_distinct_and_reproducible() -> None:
    from duelgym.agents.candidates import derive_seeds

    seeds = [s for seed in range(50) for s in derive_seeds(seed, 2)]
    assert len(set(seeds)) == 100 and not set(seeds) & set(range(50))
    assert derive_seeds(3, 2) == derive_seeds(3, 2) and derive_seeds(None, 2) == [None, None]
    with pytest.raises(ValueError, match="seed must be >= 0"):
        derive_seeds(-1, 2)


# ---- bad input ---------------------------------------------------------------------------------------------


def test_observations_of_the_wrong_shape_are_rejected() -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make("dts", env, seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(B, 32, 5\), got \(32, 5\) \(add a batch dimension"):
        agent.select({"arms": obs["arms"][0]})
    with pytest.raises(ValueError, match=r"got \(2, 32, 4\)"):
        agent.select({"arms": obs["arms"][..., :4]})
    with pytest.raises(TypeError, match=r"expects an observation batch"):
        agent.select(obs["arms"])
    with pytest.raises(ValueError, match=r"pairs must be an int array of shape \(2, 2\)"):
        agent.observe(obs, np.zeros((3, 2), dtype=np.int64), np.zeros(3))


@pytest.mark.parametrize("name", ["dts", "laplace-dts", "passive"])
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (-1, r"pairs\[1, 0\] = -1 is not a candidate index; expected indices in \[0, 31\] \(negative indices"),
        (32, r"pairs\[1, 0\] = 32 is not a candidate index; expected indices in \[0, 31\]"),
        (1000, r"pairs\[1, 0\] = 1000 is not a candidate index"),
    ],
)
def test_observe_rejects_pair_indices_outside_the_candidates(name: str, bad: int, match: str) -> None:
    # Before: -1 wrapped around and learned from the last candidate; 32 raised torch's bare IndexError.
    env = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make(name, env, seed=0)
    with pytest.raises(ValueError, match=match):
        agent.observe(obs, np.array([[0, 1], [bad, 2]]), np.ones(2))


class TextEnv(gym.Env):
    observation_space = UnicodeText(32)
    action_space = TextPair(32)


class OneArmEnv(gym.Env):
    observation_space = gym.spaces.Dict({"arms": gym.spaces.Box(-1, 1, (1, 3))})
    action_space = gym.spaces.MultiDiscrete([1, 1])


def test_the_enn_variants_of_passive_and_boltzmann_use_the_enn_and_refuse_another_model() -> None:
    from duelgym.agents.reward_models import ENN, PointRewardModel

    env = duelgym.make_vec("LinearDuel-v0", num_envs=4)
    for name, agent_class in (("passive", PassiveAgent), ("boltzmann", BoltzmannAgent)):
        assert isinstance(duelgym.agents.make(name, env, seed=0).reward_model, PointRewardModel)
        variant = duelgym.agents.make(f"{name}-enn", env, seed=0)
        assert type(variant) is agent_class and isinstance(variant.reward_model, ENN)
        with pytest.raises(ValueError, match=rf"agent '{name}-enn' fixes reward_model='enn'; got reward_model='point'"):
            duelgym.agents.make(f"{name}-enn", env, reward_model="point")


def test_arm_features_must_be_a_matrix_and_fixed_defaults_compare_by_value() -> None:
    from duelgym.agents.registry import arm_features_shape

    for shape in ((3,), (2, 3, 4)):
        env = gym.make("CartPole-v1")
        env.observation_space = gym.spaces.Dict({"arms": gym.spaces.Box(-1, 1, shape)})
        with pytest.raises(ValueError, match=r"agent 'dts' needs candidates described by features"):
            arm_features_shape(env, "dts")
    linear = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    assert arm_features_shape(linear) == (32, 5)
    same = "".join(["e", "nn"])  # equal to the fixed "enn" but not the same object
    assert duelgym.agents.make("passive-enn", linear, reward_model=same, seed=0).reward_model.num_particles >= 2


def test_agents_say_when_they_cannot_run_on_an_env() -> None:
    for name in ("laplace-dts", "maxinp", "colstim", "maxpairucb"):
        with pytest.raises(ValueError, match=rf"agent '{name}' needs candidates described by features"):
            duelgym.agents.make(name, TextEnv())
    with pytest.raises(ValueError, match=r"at least 2 candidates per context, the env has 1"):
        duelgym.agents.make("passive", OneArmEnv())
    with pytest.raises(ValueError, match=r"unknown agent 'tds'; known agents: bai-ts, boltzmann, boltzmann-enn, col"):
        duelgym.agents.make("tds", duelgym.make("LinearDuel-v0"))


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "match"),
    [
        ("boltzmann", {"temperature": 0.0}, ValueError, "temperature must be a finite number > 0"),
        ("boltzmann", {"temperature": -1.0}, ValueError, "temperature must be a finite number > 0"),
        ("dts", {"max_tries": 0}, ValueError, "max_tries must be >= 1, got 0"),
        ("dts", {"fallback": "random"}, ValueError, "fallback must be 'uniform' or 'second_best'"),
        ("dts", {"reward_model": "point"}, ValueError, "2 particles; reward_model='point' has num_particles=1"),
        ("infomax", {"reward_model": "point"}, ValueError, "InfomaxAgent compares posterior samples"),
        ("bai-ts", {"reward_model_kwargs": {"num_particles": 1}}, ValueError, "at least 2 particles"),
        ("ids", {"reward_model": "point"}, ValueError, "InformationDirectedAgent compares posterior samples"),
        ("laplace-dts", {"reward_model": "enn"}, ValueError, "'laplace-dts' fixes reward_model='laplace'"),
        ("ids", {"rule": "greedy"}, ValueError, "rule must be 'ratio' or 'max_variance'"),
        ("ids", {"num_sampled": 1}, ValueError, "num_sampled must be >= 2"),
        ("multiset", {"tolerance": 0.0}, ValueError, "tolerance must be a finite number > 0"),
        ("dts", {"reward_model": "gp"}, ValueError, "reward_model must be one of"),
        ("dts", {"reward_model_kwargs": {"num_particles": 0}}, ValueError, "num_particles must be >= 1"),
        ("passive", {"colour": "red"}, TypeError, "colour"),
    ],
)
def test_bad_agent_arguments_are_rejected(name: str, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        duelgym.agents.make(name, duelgym.make("LinearDuel-v0"), seed=0, **kwargs)


def test_register_rejects_duplicates_and_non_callables() -> None:
    with pytest.raises(ValueError, match="already registered"):
        duelgym.agents.register("dts", lambda env, seed=None: None)
    with pytest.raises(TypeError, match="factory must be callable"):
        duelgym.agents.register("new-agent", "not a factory")


@pytest.mark.parametrize("name", ["bai-ts", "dts", "ids", "infomax"])
def test_agents_that_compare_particles_run_with_two(name: str) -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=3)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make(name, env, seed=0, reward_model_kwargs={"num_particles": 2})
    pairs = agent.select(obs)
    assert (pairs[:, 0] != pairs[:, 1]).all()


def test_reward_model_instances_are_checked() -> None:
    from duelgym.agents.candidates import build_reward_model

    model = FixedParticles(torch.ones(3, 5))
    assert build_reward_model(model, 5, seed=0, device="cpu", reward_model_kwargs=None) is model
    with pytest.raises(ValueError, match="reward_model_kwargs apply to a reward model given by name"):
        build_reward_model(model, 5, seed=0, device="cpu", reward_model_kwargs={"num_particles": 2})
    with pytest.raises(TypeError, match="reward_model must be a name or follow the RewardModel protocol, got int"):
        build_reward_model(3, 5, seed=0, device="cpu", reward_model_kwargs=None)
    for env_dim in (4, 6):  # both directions
        with pytest.raises(
            ValueError, match=rf"reward_model\.input_dim is 5, but the env's arms have {env_dim} features"
        ):
            build_reward_model(model, env_dim, seed=0, device="cpu", reward_model_kwargs=None)
    # Dimensions compared by value: 768 (an embedding size) is not one of Python's cached small ints.
    wide = FixedParticles(torch.ones(2, 768))
    assert build_reward_model(wide, int("768"), seed=0, device="cpu", reward_model_kwargs=None) is wide


def test_candidate_and_feature_counts_are_checked() -> None:
    assert sorted(PassiveAgent(2, 1, seed=0).pairs(torch.zeros(50, 2, 1)).unique().tolist()) == [0, 1]
    with pytest.raises(ValueError, match="num_candidates must be >= 2, got 1"):
        PassiveAgent(1, 3)
    with pytest.raises(ValueError, match="feature_dim must be >= 1, got 0"):
        PassiveAgent(3, 0)


def test_observe_rejects_float_pairs_and_names_the_first_bad_index() -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make("passive", env, seed=0)
    with pytest.raises(ValueError, match=r"pairs must be an int array of shape \(2, 2\), got \(2, 2\) torch.float64"):
        agent.observe(obs, np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"pairs\[0, 1\] = 40 is not a candidate index"):
        agent.observe(obs, np.array([[0, 40], [-1, 2]]), np.ones(2))
    with pytest.raises(ValueError, match=r"must have shape \(B, 32, 5\), got \(1, 2, 32, 5\)$"):  # no batch hint
        agent.select({"arms": obs["arms"][None]})


def test_register_needs_a_non_empty_name_and_fixed_defaults_may_be_restated() -> None:
    for name in ("", 3):
        with pytest.raises(TypeError, match="name must be a non-empty str"):
            duelgym.agents.register(name, lambda env, seed=None: None)
    agent = duelgym.agents.make("laplace-dts", duelgym.make("LinearDuel-v0"), seed=0, reward_model="laplace")
    assert type(agent.reward_model).__name__ == "LaplaceRewardModel"


@pytest.mark.parametrize("pairs", [np.zeros((1, 2), dtype=np.int64), np.zeros(2, dtype=np.int64)])
def test_observe_rejects_fewer_pairs_than_contexts(pairs: np.ndarray) -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make("passive", env, seed=0)
    with pytest.raises(ValueError, match=rf"pairs must be an int array of shape \(2, 2\), got \({pairs.shape[0]},"):
        agent.observe(obs, pairs, np.zeros(2))


def test_the_batch_dimension_hint_is_only_for_a_single_observation() -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=2)
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make("passive", env, seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(B, 32, 5\), got \(5,\)$"):  # a batch dimension won't do
        agent.select({"arms": obs["arms"][0, 0]})
