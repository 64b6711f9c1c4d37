"""Gymnasium API conformance, properties, determinism and bad input for the synthetic dueling envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env, data_equivalence
from hypothesis import given
from hypothesis import strategies as st
from vector_checks import check_matches_sync_vector_env, check_vector_env

import duelgym
from duelgym.envs import LinearDuelEnv, MatrixDuelEnv
from duelgym.envs.matrix import copeland_scores, validate_preference_matrix
from duelgym.oracle import BradleyTerry

ENV_IDS = duelgym.list_envs()
ARM_ENV_IDS = ["LinearDuel-v0", "MatrixDuel-v0"]  # envs whose actions are arm indices


@pytest.mark.filterwarnings("ignore:.*Box observation space m.*:UserWarning")  # the default gaussian arms: unbounded
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_on_every_registered_id(env_id: str) -> None:
    check_env(duelgym.make(env_id).unwrapped)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_checker_on_every_registered_id(env_id: str) -> None:
    check_vector_env(lambda: duelgym.make_vec(env_id, num_envs=5))


def _share_theta(native, sync) -> None:
    for env in sync.envs:
        env.unwrapped.problem.theta = native.unwrapped.problem.theta.copy()


#: Per id, keyword arguments under which everything but the sampled choices is deterministic (and, if needed, how to
#: give Gymnasium's separately seeded sub-envs the native env's hidden instance). A new id must add an entry.
SAME_STEP_CONFIGS = {
    "LinearDuel-v0": ({"dim": 3, "num_arms": 8, "arm_set": "hypercube"}, _share_theta),  # every context the same
    "MatrixDuel-v0": ({"matrix": [[0.5, 0.8, 0.3], [0.2, 0.5, 0.6], [0.7, 0.4, 0.5]]}, None),  # used as given
    "LLMDuel-v0": ({"num_prompts": 1}, None),  # one prompt, the deterministic programmatic rater
}


def test_every_registered_id_has_a_same_step_comparison() -> None:
    assert sorted(SAME_STEP_CONFIGS) == ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_native_vector_env_matches_gymnasiums_same_step_layout(env_id: str) -> None:
    kwargs, align = SAME_STEP_CONFIGS[env_id]
    check_matches_sync_vector_env(
        lambda: duelgym.make(env_id, **kwargs), lambda n: duelgym.make_vec(env_id, num_envs=n, **kwargs), align
    )


def test_same_step_info_holds_the_queried_contexts_and_the_step_results() -> None:
    venv = duelgym.make_vec("LinearDuel-v0", num_envs=4, arm_set="gaussian")
    obs, info = venv.reset(seed=0)
    assert info == {}
    pairs = np.array([[0, 1], [2, 3], [4, 4], [5, 0]])
    next_obs, _, _, _, info = venv.step(pairs)
    assert sorted(info) == ["_final_info", "_final_obs", "final_info", "final_obs"]
    assert all(np.array_equal(info["final_obs"][i]["arms"], obs["arms"][i]) for i in range(4))
    assert not np.array_equal(next_obs["arms"], obs["arms"]), "the returned observation is the next context"
    utilities = obs["arms"].astype(np.float64) @ venv.unwrapped.problem.theta
    rows = np.arange(4)
    assert np.allclose(
        info["final_info"]["regret_strong"],
        2 * utilities.max(axis=1) - utilities[rows, pairs[:, 0]] - utilities[rows, pairs[:, 1]],
    )


@pytest.mark.filterwarnings("ignore:.*Box observation space m.*:UserWarning")  # gaussian arms are unbounded
@pytest.mark.parametrize(
    "kwargs",
    [
        {"arm_set": "hypercube"},
        {"arm_set": "hypercube", "dim": 6, "num_arms": 10},
        {"arm_set": "hypercube", "dim": 24, "num_arms": 3},
        {"dim": 24, "num_arms": 3},
        {"instance": "vacdb"},
        {"instance": "vacdb", "dim": 3, "num_arms": 6, "theta_norm": 4.0},
    ],
)
def test_linear_variants_pass_the_checkers(kwargs: dict) -> None:
    check_env(duelgym.make("LinearDuel-v0", **kwargs).unwrapped)
    check_vector_env(lambda: duelgym.make_vec("LinearDuel-v0", num_envs=3, **kwargs))


@pytest.mark.parametrize("kind", ["bradley_terry", "condorcet", "cyclic"])
def test_matrix_kinds_pass_the_checker(kind: str) -> None:
    check_env(duelgym.make("MatrixDuel-v0", kind=kind).unwrapped)


def test_gymnasium_make_with_namespaced_id_builds_the_env() -> None:
    env = gym.make("duelgym/LinearDuel-v0", dim=3, num_arms=8)
    assert isinstance(env.unwrapped, LinearDuelEnv)
    assert env.observation_space["arms"].shape == (8, 3)


@st.composite
def linear_configs(draw: st.DrawFn) -> dict:
    """Valid LinearDuel-v0 keyword arguments, hypercube and vacdb arm counts capped at 2**dim."""
    instance = draw(st.sampled_from(["contextual", "vacdb"]))
    arm_set = "hypercube" if instance == "vacdb" else draw(st.sampled_from(["hypercube", "gaussian"]))
    dim = draw(st.integers(2 if instance == "vacdb" else 1, 8))
    max_arms = min(2**dim, 40) if arm_set == "hypercube" else 40
    config = {
        "dim": dim,
        "num_arms": draw(st.integers(2, max(2, max_arms))),
        "theta_norm": draw(st.floats(0.1 if instance == "vacdb" else 0.0, 4.0)),
        "temperature": draw(st.floats(0.05, 5.0)),
        "instance": instance,
    }
    return config if instance == "vacdb" else {**config, "arm_set": arm_set}


def regret_unit(config: dict) -> float:
    """What info's regret is measured in: θ* for the contextual instance, θ*/theta_norm for vacdb's definition."""
    return config["theta_norm"] if config["instance"] == "vacdb" else 1.0


@given(config=linear_configs(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_linear_step_outcome_is_consistent_for_every_sampled_action(config: dict, seed: int, data) -> None:
    env = LinearDuelEnv(**config)
    obs, _ = env.reset(seed=seed)
    assert obs in env.observation_space
    env.action_space.seed(data.draw(st.integers(0, 2**31 - 1)))
    action = env.action_space.sample()
    assert action in env.action_space
    utilities = obs["arms"].astype(np.float64) @ env.problem.theta
    _, reward, terminated, truncated, info = env.step(action)
    a, b = action
    best = utilities.max()
    unit = regret_unit(config)
    assert reward in (0.0, 1.0) and terminated and not truncated
    assert info["p_first"] == pytest.approx(BradleyTerry(config["temperature"]).probability(utilities[a], utilities[b]))
    assert info["regret_strong"] == pytest.approx((2 * best - utilities[a] - utilities[b]) / unit)
    assert info["regret_weak"] == pytest.approx((best - max(utilities[a], utilities[b])) / unit)
    assert 0.0 <= info["regret_weak"] <= info["regret_strong"]
    assert utilities[info["best_arm"]] == best
    if config.get("arm_set") == "hypercube":
        assert np.allclose(np.linalg.norm(obs["arms"], axis=1), 1.0, atol=1e-6)
        assert len(np.unique(obs["arms"], axis=0)) == config["num_arms"], "hypercube arms must be distinct"


@given(config=linear_configs(), seed=st.integers(0, 2**31 - 1))
def test_querying_the_best_arm_twice_has_zero_regret(config: dict, seed: int) -> None:
    env = LinearDuelEnv(**config)
    obs, _ = env.reset(seed=seed)
    best = int(np.argmax(obs["arms"].astype(np.float64) @ env.problem.theta))
    _, _, _, _, info = env.step((best, best))
    assert info["regret_strong"] == 0.0 and info["regret_weak"] == 0.0
    assert info["p_first"] == 0.5


# ---- the contextual default and the published vacdb instance ------------------------------------------------


def test_default_draws_fresh_arms_per_context() -> None:
    env = LinearDuelEnv()
    first, _ = env.reset(seed=0)
    second, _ = env.reset()
    assert not np.array_equal(first["arms"], second["arms"]), "the default must be contextual"
    assert env.problem.arm_set == "gaussian" and env.problem.instance == "contextual"
    again, _ = LinearDuelEnv().reset(seed=0)
    other, _ = LinearDuelEnv().reset(seed=1)
    assert np.array_equal(first["arms"], again["arms"]), "same seed, same arms"
    assert not np.array_equal(first["arms"], other["arms"]), "another seed, other arms"
    venv = duelgym.make_vec("LinearDuel-v0", num_envs=8)
    obs, _ = venv.reset(seed=0)
    assert len({obs["arms"][i].tobytes() for i in range(8)}) == 8, "sub-envs see different contexts"
    arms = np.concatenate([venv.step(np.zeros((8, 2), dtype=np.int64))[0]["arms"] for _ in range(200)])
    # N(0, I/d): mean 0 and variance 1/d per coordinate (1,600 arms per coordinate here).
    assert np.abs(arms.mean(axis=(0, 1))).max() < 0.03
    assert np.allclose(arms.var(axis=(0, 1)), 1 / 5, rtol=0.1)


def test_held_out_contexts_of_the_runner_are_new() -> None:
    """The runner draws held-out contexts with ``problem.draw_contexts`` and an rng of its own."""
    env = duelgym.make_vec("LinearDuel-v0", num_envs=4)
    obs, _ = env.reset(seed=0)
    problem = env.unwrapped.problem
    held_out = problem.draw_contexts(np.random.default_rng(10_000), 300)
    assert len({arms.tobytes() for arms in held_out.arms}) == 300, "held-out contexts must not be copies"
    assert not any(np.array_equal(arms, obs["arms"][0]) for arms in held_out.arms)
    redrawn = problem.draw_contexts(np.random.default_rng(10_000), 300)
    assert np.array_equal(held_out.arms, redrawn.arms) and np.array_equal(held_out.scores, redrawn.scores)
    assert not np.array_equal(held_out.arms, problem.draw_contexts(np.random.default_rng(10_001), 300).arms)
    assert len(set(held_out.scores.argmax(axis=1).tolist())) > 1, "the best arm's index varies with the context"


def vertices(num_arms: int, dim: int) -> np.ndarray:
    """Vertex ``code`` of {−1, 1}^dim has coordinate i = +1 where bit i of the code is set (VACDB's order)."""
    return np.array([[1.0 if code >> i & 1 else -1.0 for i in range(dim)] for code in range(num_arms)])


@pytest.mark.parametrize("theta_norm", [0.1, 1.0, 4.0])
def test_vacdb_instance_is_the_published_benchmark(theta_norm: float) -> None:
    env = duelgym.make("LinearDuel-v0", instance="vacdb", theta_norm=theta_norm).unwrapped
    obs, _ = env.reset(seed=3)
    problem = env.problem
    arms = obs["arms"].astype(np.float64)
    assert arms.shape == (32, 5)
    noise = arms - vertices(32, 5)
    assert (noise >= -0.1 - 1e-6).all() and (noise <= 0).all(), "noise must lie in [-0.1, 0)"
    assert noise.std() > 0.02, "the noise is drawn, not constant"
    theta = problem.theta
    assert (theta[2:] == 0).all() and (theta[:2] > 0).all()
    assert np.linalg.norm(theta) == pytest.approx(theta_norm)
    # Arms fixed for the whole run: across steps, unseeded resets and sub-envs.
    for _ in range(3):
        _, _, _, _, info = env.step((4, 9))
        expected = (2 * arms[(arms @ theta).argmax()] - arms[4] - arms[9]) @ theta
        assert info["regret_strong"] == pytest.approx(expected / theta_norm)
        assert info["best_arm"] == int((arms @ theta).argmax())
        assert info["p_first"] == pytest.approx(1 / (1 + np.exp(-(arms[4] - arms[9]) @ theta)))
        next_obs, _ = env.reset()
        assert np.array_equal(next_obs["arms"], obs["arms"])
        assert np.array_equal(problem.theta, theta)
    venv = duelgym.make_vec("LinearDuel-v0", num_envs=3, instance="vacdb", theta_norm=theta_norm)
    vobs, _ = venv.reset(seed=3)
    assert all(np.array_equal(vobs["arms"][i], obs["arms"]) for i in range(3)), "vector env = single env"
    vobs, _, _, _, info = venv.step(np.array([[4, 9]] * 3))
    assert all(np.array_equal(vobs["arms"][i], obs["arms"]) for i in range(3))
    assert np.allclose(info["final_info"]["regret_strong"], expected / theta_norm)
    other, _ = env.reset(seed=4)
    assert not np.array_equal(other["arms"], obs["arms"]) and not np.array_equal(problem.theta, theta)


def test_vacdb_cumulative_regret_is_the_sum_of_the_published_per_round_regret() -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=1, instance="vacdb", theta_norm=2.0)
    obs, _ = env.reset(seed=0)
    cA, theta, scale = obs["arms"][0].astype(np.float64), env.unwrapped.problem.theta, 2.0
    x_star = cA[np.argmax(cA @ theta)]
    rng = np.random.default_rng(0)
    total, direct = 0.0, 0.0
    for _ in range(50):
        a, b = rng.integers(32, size=2)
        _, _, _, _, info = env.step(np.array([[a, b]]))
        total += info["final_info"]["regret_strong"][0]
        direct += (2 * x_star - cA[a] - cA[b]) @ theta / scale  # VACDB: R_t = (2x* − x − y)·θ*/scale
    assert total == pytest.approx(direct)


@given(
    kind=st.sampled_from(["bradley_terry", "condorcet", "cyclic"]),
    num_arms=st.integers(4, 12),
    seed=st.integers(0, 10**6),
    data=st.data(),
)
def test_matrix_regret_is_nonnegative_and_zero_at_the_winner(kind: str, num_arms: int, seed: int, data) -> None:
    env = MatrixDuelEnv(num_arms=num_arms, kind=kind)
    env.reset(seed=seed)
    matrix = env.problem.matrix
    validate_preference_matrix(matrix)
    a, b = data.draw(st.integers(0, num_arms - 1)), data.draw(st.integers(0, num_arms - 1))
    _, _, _, _, info = env.step((a, b))
    assert info["p_first"] == matrix[a, b]
    assert 0.0 <= info["regret_weak"] <= info["regret_strong"]
    env.reset()
    winner = int(np.argmax(copeland_scores(matrix)))
    _, _, _, _, info = env.step((winner, winner))
    assert info["best_arm"] == winner and info["regret_strong"] == 0.0


def test_matrix_kinds_have_the_advertised_structure() -> None:
    def condorcet_winner(p: np.ndarray) -> int | None:
        beats_all = [(np.delete(p[i], i) > 0.5).all() for i in range(len(p))]
        return int(np.argmax(beats_all)) if any(beats_all) else None

    def is_total_order(p: np.ndarray) -> bool:  # transitive tournament: win counts are 0..K-1
        return sorted((p > 0.5).sum(axis=1).tolist()) == list(range(len(p)))

    for seed in range(5):
        bt = MatrixDuelEnv(kind="bradley_terry")
        bt.reset(seed=seed)
        assert is_total_order(bt.problem.matrix)
        condorcet = MatrixDuelEnv(kind="condorcet")
        condorcet.reset(seed=seed)
        assert condorcet_winner(condorcet.problem.matrix) is not None
        assert not is_total_order(condorcet.problem.matrix)
        cyclic = MatrixDuelEnv(kind="cyclic")
        cyclic.reset(seed=seed)
        assert condorcet_winner(cyclic.problem.matrix) is None
    labels = set()
    for seed in range(10):
        env = MatrixDuelEnv(kind="condorcet")
        env.reset(seed=seed)
        labels.add(condorcet_winner(env.problem.matrix))
    assert len(labels) > 1, "the winner's label should vary with the seed"


def test_user_matrix_is_used_as_given() -> None:
    matrix = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.6], [0.8, 0.4, 0.5]])
    env = duelgym.make("MatrixDuel-v0", matrix=matrix)
    env.reset(seed=0)
    _, _, _, _, info = env.step((0, 1))
    assert info["p_first"] == 0.9
    assert env.observation_space["arms"].shape == (3, 3)


def test_sampled_choice_frequency_matches_p_first_within_binomial_bounds() -> None:
    n = 20_000
    env = duelgym.make_vec("LinearDuel-v0", num_envs=n, theta_norm=2.0, instance="vacdb")
    env.reset(seed=0)
    pairs = np.tile([3, 17], (n, 1))
    _, reward, _, _, info = env.step(pairs)
    p = info["final_info"]["p_first"][0]
    assert np.all(info["final_info"]["p_first"] == p), "vacdb contexts are identical, so p_first is too"
    assert abs(reward.mean() - p) <= 5 * np.sqrt(p * (1 - p) / n)


def test_theta_is_kept_across_unseeded_resets_and_redrawn_by_a_seed() -> None:
    env = LinearDuelEnv(arm_set="gaussian")
    first_obs, _ = env.reset(seed=0)
    theta = env.problem.theta.copy()
    assert np.linalg.norm(theta) == pytest.approx(1.0)
    next_obs, _ = env.reset()
    assert np.array_equal(env.problem.theta, theta), "an unseeded reset must keep θ*"
    assert not np.array_equal(first_obs["arms"], next_obs["arms"]), "an unseeded reset draws a new context"
    env.reset(seed=1)
    assert not np.array_equal(env.problem.theta, theta)
    env.reset(seed=0)
    assert np.array_equal(env.problem.theta, theta)


def test_vector_sub_envs_share_one_instance_and_differ_in_contexts() -> None:
    venv = duelgym.make_vec("LinearDuel-v0", num_envs=4, dim=6, num_arms=8)
    obs, _ = venv.reset(seed=0)
    assert obs["arms"].shape == (4, 8, 6) and obs["arms"].dtype == np.float32
    assert len({obs["arms"][i].tobytes() for i in range(4)}) == 4
    _, _, _, _, info = venv.step(np.zeros((4, 2), dtype=np.int64))
    utilities = obs["arms"].astype(np.float64) @ venv.unwrapped.problem.theta
    assert np.array_equal(info["final_info"]["best_arm"], utilities.argmax(axis=1))


def _rollout(env, seed: int, actions: list) -> list:
    out = [env.reset(seed=seed)]
    for action in actions:
        out.append(env.step(action))
        out.append(env.reset())
    return out


@pytest.mark.parametrize("env_id", ARM_ENV_IDS)
def test_same_seed_same_results_single_env(env_id: str) -> None:
    actions = [(0, 1), (2, 3), (1, 1), (3, 0)] * 5
    first = _rollout(duelgym.make(env_id), 11, actions)
    assert data_equivalence(first, _rollout(duelgym.make(env_id), 11, actions), exact=True)
    assert not data_equivalence(first, _rollout(duelgym.make(env_id), 12, actions))


@pytest.mark.parametrize("env_id", ARM_ENV_IDS)
def test_same_seed_same_results_vector_env(env_id: str) -> None:
    actions = [np.array([[0, 1], [2, 3], [1, 1]])] * 10

    def rollout(seed: int) -> list:
        env = duelgym.make_vec(env_id, num_envs=3)
        return [env.reset(seed=seed)] + [env.step(a) for a in actions]

    assert data_equivalence(rollout(5), rollout(5), exact=True)
    assert not data_equivalence(rollout(5), rollout(6))


# ---- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "error", "match"),
    [
        ("0 1", TypeError, "int array"),
        ({"first": 0}, TypeError, "int array"),
        (7, TypeError, "int array"),
        (np.array([0.0, 1.0]), TypeError, "integer"),
        ((0.0, 1.0), TypeError, "integer"),
        (np.array([0, 1, 2]), ValueError, r"shape \(2,\)"),
        (np.array([[0, 1]]), ValueError, r"shape \(2,\)"),
        ((0, 32), ValueError, r"arm index 32.*\[0, 31\]"),
        ((-1, 0), ValueError, r"arm index -1"),
        ([(0, 1), (2,)], ValueError, "ragged"),
    ],
)
def test_bad_actions_are_rejected_with_a_clear_error(action, error, match) -> None:
    env = duelgym.make("LinearDuel-v0")
    env.reset(seed=0)
    with pytest.raises(error, match=match):
        env.step(action)


def test_bad_vector_actions_are_rejected() -> None:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        env.step(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="arm index 40"):
        env.step(np.array([[0, 1], [0, 40], [0, 1]]))
    with pytest.raises(TypeError, match="integer"):
        env.step(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="seed"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="num_envs"):
        duelgym.make_vec("LinearDuel-v0", num_envs=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": float("nan")}, ValueError, "temperature must be finite"),
        ({"temperature": float("inf")}, ValueError, "temperature must be finite"),
        ({"temperature": -1.0}, ValueError, "temperature must be a finite number > 0, got -1.0"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": "hot"}, TypeError, "temperature must be a real number"),
        ({"theta_norm": float("nan")}, ValueError, "theta_norm must be finite"),
        ({"theta_norm": float("-inf")}, ValueError, "theta_norm must be finite"),
        ({"theta_norm": -0.5}, ValueError, "theta_norm must be >= 0"),
        ({"dim": 0}, ValueError, "dim must be >= 1"),
        ({"dim": 2.0}, TypeError, "dim must be an int"),
        ({"num_arms": 1}, ValueError, "num_arms must be >= 2"),
        ({"num_arms": True}, TypeError, "num_arms must be an int"),
        ({"dim": 3, "num_arms": 9, "arm_set": "hypercube"}, ValueError, "exceeds the 2\\*\\*dim = 8"),
        ({"dim": 63, "arm_set": "hypercube"}, ValueError, "dim <= 62"),
        ({"dim": 3, "num_arms": 9, "instance": "vacdb"}, ValueError, "exceeds the 2\\*\\*dim = 8"),
        ({"instance": "VACDB"}, ValueError, "instance must be one of 'contextual', 'vacdb', got 'VACDB'"),
        ({"instance": 1}, ValueError, "instance must be one of 'contextual', 'vacdb', got 1"),
        ({"instance": "vacdb", "arm_set": "hypercube"}, ValueError, "arm_set='hypercube' does not apply"),
        ({"instance": "vacdb", "theta_norm": 0.0}, ValueError, "theta_norm must be > 0, got 0.0"),
        ({"instance": "vacdb", "dim": 1, "num_arms": 2}, ValueError, "needs dim >= 2, got dim=1"),
        ({"arm_set": "sphere"}, ValueError, "arm_set must be 'hypercube' or 'gaussian', got 'sphere'"),
        ({"colour": "red"}, TypeError, "colour"),
    ],
)
def test_bad_linear_arguments_are_rejected(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        duelgym.make("LinearDuel-v0", **kwargs)
    with pytest.raises(error, match=match):
        duelgym.make_vec("LinearDuel-v0", num_envs=2, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"matrix": [[0.5, 0.7, 0.5]]}, r"square.*shape \(1, 3\)"),
        ({"matrix": [[0.5, 1.2], [-0.2, 0.5]]}, r"matrix\[0, 1\] = 1.2 is outside \[0, 1\]"),
        ({"matrix": [[0.5, float("nan")], [0.5, 0.5]]}, r"matrix\[0, 1\] = nan is not finite"),
        ({"matrix": [[0.5, 0.7], [0.3, 0.6]]}, r"matrix\[1, 1\] = 0.6; .*diagonal"),
        ({"matrix": [[0.5, 0.7], [0.4, 0.5]]}, r"matrix\[0, 1\] \+ matrix\[1, 0\] = 0.7 \+ 0.4"),
        ({"matrix": [[0.5, 0.7], [0.3, 0.5]], "kind": "cyclic"}, "kind='cyclic' cannot be combined"),
        ({"matrix": [[0.5, 0.7], [0.3, 0.5]], "num_arms": 3}, "num_arms=3 does not match"),
        ({"kind": "transitive"}, "kind must be one of"),
        ({"kind": "condorcet", "num_arms": 3}, "num_arms must be >= 4"),
        ({"temperature": -2.0}, "temperature must be a finite number > 0"),
    ],
)
def test_bad_matrix_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        duelgym.make("MatrixDuel-v0", **kwargs)


@pytest.mark.parametrize(
    ("matrix", "error", "match"),
    [
        (
            "abc",
            TypeError,
            r"matrix must be a square K×K array of probabilities \(real numbers\), got 'abc' of type str",
        ),
        ([["a", "b"], ["c", "d"]], TypeError, r"matrix must be .* with dtype <U1"),
        ([[0.5, None], [None, 0.5]], TypeError, r"matrix must be .* with dtype object"),
        ([[0.5, 0.5], [0.5]], ValueError, r"matrix must be a square K×K array of probabilities, got ragged rows"),
    ],
)
def test_a_matrix_that_is_not_numbers_gets_a_clear_error(matrix, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        validate_preference_matrix(matrix)
    with pytest.raises(error, match=match):
        duelgym.make("MatrixDuel-v0", matrix=matrix)


def test_a_problem_whose_p_first_has_the_wrong_length_is_reported() -> None:
    from duelgym.envs._bandit import ArmDuelVectorEnv
    from duelgym.envs.matrix import MatrixProblem

    class OneAnswer(MatrixProblem):  # a batching bug in a new env: one probability whatever the batch
        def p_first(self, contexts, first, second):
            return super().p_first(contexts, first, second)[:1]

    venv = ArmDuelVectorEnv(OneAnswer(num_arms=4), num_envs=4)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"OneAnswer.p_first returned p_first of shape \(1,\) for 4 pairs"):
        venv.step(np.zeros((4, 2), dtype=np.int64))


@pytest.mark.parametrize("env_id", ARM_ENV_IDS)
def test_step_before_reset_and_after_the_episode_ends_raises_reset_needed(env_id: str) -> None:
    raw = duelgym.make(env_id).unwrapped
    with pytest.raises(ResetNeeded):
        raw.step((0, 1))
    raw.reset(seed=0)
    raw.step((0, 1))
    with pytest.raises(ResetNeeded):
        raw.step((0, 1))
    with pytest.raises(ResetNeeded):
        duelgym.make(env_id).step((0, 1))
