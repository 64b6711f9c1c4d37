"""LLMDuel-v0: the env, its raters, win rate, and agents running on it through the candidate pool."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from vector_checks import check_vector_env

import duelgym
import duelgym.agents
from duelgym.envs.candidates import CandidateWrapper
from duelgym.evaluation import win_probabilities, win_rate
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool


def test_check_env_with_generated_and_user_unicode_prompts() -> None:
    check_env(duelgym.make("LLMDuel-v0").unwrapped)
    prompts = ["Schreib ein Gedicht über Bäume 🌳", "写一首诗", "résumé:\n- one\n- two"]
    env = duelgym.make("LLMDuel-v0", prompts=prompts, rater=lambda p, a, b: np.full(len(a), 0.25))
    check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert obs in prompts and info["split"] == "train"
    _, _, _, _, info = env.step(("réponse « 1 »", "ответ"))
    assert info["p_first"] == 0.25
    check_vector_env(lambda: duelgym.make_vec("LLMDuel-v0", num_envs=4))


def test_contracts_other_code_relies_on() -> None:
    env = duelgym.make("LLMDuel-v0", split="eval")
    core = env.unwrapped
    assert core.base_lm == "duelgym/tiny-transforms"
    assert len(core.prompts) == 300 and not set(core.prompts) & set(duelgym.make("LLMDuel-v0").unwrapped.prompts)
    utilities = core.rater.utility(["shift abc"] * 2, ["[bcd]", "bce"])
    assert utilities[0] > utilities[1]
    p = core.rater.p_first(["shift abc"] * 2, ["[bcd]", "bce"], ["bce", "[bcd]"])
    assert p[0] + p[1] == pytest.approx(1.0)


def test_evaluation_uses_a_fixed_reference_rater_whatever_the_feedback_temperature() -> None:
    pairs = (["shift abc"] * 3, ["[bcd]", "bcd", "bce ok"], ["bcd", "bce", "[bcd]"])
    feedback = {}
    for temperature in (0.05, 0.1, 0.5, 2.0):
        core = duelgym.make("LLMDuel-v0", split="eval", num_prompts=5, temperature=temperature).unwrapped
        feedback[temperature] = core.rater.p_first(*pairs)
        reference = core.eval_rater.p_first(*pairs)
        utilities = core.eval_rater.utility(*pairs[:2]) - core.eval_rater.utility(pairs[0], pairs[2])
        np.testing.assert_allclose(reference, 1 / (1 + np.exp(-utilities / 0.1)))  # T = 0.1 at every feedback T
        env = duelgym.make_vec("LLMDuel-v0", num_envs=2, temperature=temperature)
        np.testing.assert_array_equal(win_probabilities(env, *pairs), reference)
    # The feedback does move with the temperature (so the check above could fail).
    assert np.abs(feedback[0.05] - feedback[2.0]).min() > 0.1


def test_win_rate_is_exact_and_half_for_the_baseline_itself() -> None:
    env = duelgym.make("LLMDuel-v0", split="eval", num_prompts=20)
    prompts = env.unwrapped.prompts
    from duelgym.tasks import answer

    baseline = ["0"] * len(prompts)
    assert win_rate(lambda ps: baseline, env, baseline=baseline) == (0.5, 0.0)
    perfect = win_rate(lambda ps: [f"[{answer(p)}]" for p in ps], env, baseline=baseline)
    assert perfect.mean > 0.99 and perfect.stderr < 0.01
    with pytest.raises(ValueError, match="one response and one baseline per prompt"):
        win_rate(lambda ps: ["x"], env, baseline=baseline)


def test_agents_run_on_llm_duel_through_the_candidate_pool(tiny_lm: str) -> None:
    env = CandidateWrapper(duelgym.make_vec("LLMDuel-v0", num_envs=4), CandidatePool(load(tiny_lm), num_candidates=6))
    obs, _ = env.reset(seed=0)
    assert obs["arms"].shape == (4, 6, 16 + 8)
    for name in ("passive", "dts", "ids", "infomax", "boltzmann", "multiset"):
        agent = duelgym.agents.make(name, env, seed=0)
        for _ in range(2):
            pairs = agent.select(obs)
            next_obs, reward, _, _, _info = env.step(pairs)
            agent.observe(obs, pairs, reward)
            obs = next_obs
        served = env.responses(agent.respond(obs))
        assert len(served) == 4 and all(isinstance(t, str) for t in served)
    assert len(env.pool) >= 4


def test_the_features_agents_see_do_not_depend_on_the_rater_or_its_hidden_preferences(tiny_lm: str) -> None:
    from duelgym.oracle import UtilityRater
    from duelgym.tasks import TransformUtility

    raters = [None, UtilityRater(TransformUtility({"brace": 2.0, "arrow": 1.0}, extra_character_penalty=0.5), 0.1),
              UtilityRater(TransformUtility({"bracket": -1.0}, extra_character_penalty=0.0), 1.0)]  # fmt: skip
    seen, preferences = [], []
    for rater in raters:
        pool = CandidatePool(load(tiny_lm), num_candidates=6)
        env = CandidateWrapper(duelgym.make_vec("LLMDuel-v0", num_envs=8, rater=rater), pool)
        obs, _ = env.reset(seed=0)
        steps = [obs["arms"]]
        p_first = []
        for _ in range(3):
            obs, _, _, _, info = env.step(np.tile([0, 1], (8, 1)))
            steps.append(obs["arms"])
            p_first.append(info["final_info"]["p_first"])
        seen.append(np.stack(steps))
        preferences.append(np.concatenate(p_first))
    for other in seen[1:]:
        np.testing.assert_array_equal(other, seen[0])  # the same features, bit for bit
    assert np.abs(preferences[1] - preferences[2]).max() > 0.1  # while the raters disagree on the same pairs


def test_candidate_wrapper_reports_the_queried_candidates_as_final_obs_and_checks_served_indices(tiny_lm) -> None:
    env = CandidateWrapper(duelgym.make_vec("LLMDuel-v0", num_envs=3), CandidatePool(load(tiny_lm), num_candidates=4))
    obs, info = env.reset(seed=0)
    assert info["prompt_id"].shape == (3,) and info["_prompt_id"].all()
    queried = env.prompts
    next_obs, _, _, _, info = env.step(np.array([[0, 1], [2, 3], [1, 1]]))
    final = info["final_obs"]
    assert final.dtype == object and info["_final_obs"].all()
    assert all(final[i] in env.single_observation_space for i in range(3)), "final_obs in the wrapper's space"
    assert all(np.array_equal(final[i]["arms"], obs["arms"][i]) for i in range(3))
    assert [env.unwrapped.prompts[i] for i in info["final_info"]["prompt_id"]] == list(queried)
    assert next_obs["arms"].shape == (3, 4, 24)
    assert len(env.responses(np.array([0, 3, 1]))) == 3
    with pytest.raises(ValueError, match=r"indices\[1\] = -1 is not a candidate index; expected indices in \[0, 3\]"):
        env.responses(np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"indices\[2\] = 4 is not a candidate index"):
        env.responses(np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"indices must be an int array of shape \(3,\)"):
        env.responses(np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "test"}, ValueError, "split must be 'train' or 'eval', got 'test'"),
        ({"prompts": ["a"]}, ValueError, "a user prompt list needs a rater"),
        ({"prompts": "abc", "rater": lambda p, a, b: a}, TypeError, "prompts must be a non-empty list of str"),
        ({"rater": 3}, TypeError, "rater must be None, a callable"),
        ({"rater": "/nowhere/model"}, FileNotFoundError, "cannot load a sequence-classification reward model"),
        ({"temperature": 0.0}, ValueError, "temperature must be a finite number > 0"),
    ],
)
def test_bad_env_arguments_are_rejected(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        duelgym.make("LLMDuel-v0", **kwargs)


@pytest.mark.parametrize(
    ("action", "error", "match"),
    [
        (("a", 3), TypeError, "responses must be str"),
        (("a", "b", "c"), ValueError, "pair of 2 responses"),
        ("ab", TypeError, "an action must be a pair"),
        (("a" * 5000, "b"), ValueError, "at most max_length=4096 characters"),
    ],
)
def test_bad_text_actions_are_rejected(action, error: type, match: str) -> None:
    env = duelgym.make("LLMDuel-v0")
    env.reset(seed=0)
    with pytest.raises(error, match=match):
        env.step(action)


@pytest.mark.parametrize("bad", [np.nan, 1.5, -0.1])
def test_a_rater_returning_bad_probabilities_is_reported(bad: float) -> None:
    env = duelgym.make("LLMDuel-v0", prompts=["p"], rater=lambda p, a, b: np.full(len(a), bad))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"the rater returned p_first=.*expected probabilities in \[0, 1\]"):
        env.step(("a", "b"))


class OneAnswerRater:
    """A rater object (with ``p_first``) that answers one probability whatever the batch: a batching bug."""

    def p_first(self, prompts, first, second):
        return np.array([0.7])


def test_vector_actions_of_the_wrong_length_are_reported() -> None:
    venv = duelgym.make_vec("LLMDuel-v0", num_envs=3)
    venv.reset(seed=0)
    with pytest.raises(
        ValueError, match=r"actions must be a sequence of 3 pairs of str \(one per sub-env\), got 2 items"
    ):
        venv.step([("a", "b")] * 2)
    with pytest.raises(ValueError, match=r"got a str"):
        venv.step("ab")


@pytest.mark.parametrize("rater", [OneAnswerRater(), lambda p, a, b: np.array([0.7])])
def test_a_rater_returning_the_wrong_number_of_probabilities_is_reported(rater) -> None:
    venv = duelgym.make_vec("LLMDuel-v0", num_envs=4, prompts=["p", "q"], rater=rater)
    venv.reset(seed=0)
    # Before: p_first of shape (1,) gave rewards of shape (1,) for 4 envs, silently.
    with pytest.raises(ValueError, match=r"the rater returned p_first of shape \(1,\) for 4 pairs; expected .*\(4,\)"):
        venv.step([("a", "b")] * 4)


@pytest.mark.parametrize(
    ("returned", "match"),
    [
        (
            ["first", "second"],
            r"the rater returned p_first=\['first', 'second'\] with dtype <U6; expected real numbers",
        ),
        (["0.5", "0.5"], r"with dtype <U3; expected real numbers"),
        ([0.5, None], r"with dtype object; expected real numbers"),
        ([[0.5], [0.5, 0.5]], r"which is not an array"),
    ],
)
def test_a_rater_returning_strings_or_objects_is_reported(returned, match: str) -> None:
    env = duelgym.make_vec("LLMDuel-v0", num_envs=2, prompts=["p"], rater=lambda p, a, b: returned)
    env.reset(seed=0)
    with pytest.raises(TypeError, match=match):
        env.step([("a", "b")] * 2)


def test_the_base_model_against_itself_wins_half_and_best_of_n_beats_a_random_pick() -> None:
    env = duelgym.make("LLMDuel-v0", split="eval", num_prompts=30)
    lm = load(env.unwrapped.base_lm)
    assert win_rate(lm.greedy, env) == (0.5, 0.0)  # the default baseline is the base model's greedy response
    prompts = env.unwrapped.prompts
    candidates = lm.sample(prompts, 16, seed=0)
    utility = env.unwrapped.rater.utility
    best = [row[int(np.argmax(utility([p] * 16, row)))] for p, row in zip(prompts, candidates, strict=True)]
    perfect = win_rate(lambda ps: best, env)
    random_pick = win_rate(lambda ps: [row[0] for row in candidates], env)
    assert perfect.mean > random_pick.mean + 0.2


def save_tiny_reward_model(path) -> str:
    """A randomly initialised GPT-2 sequence classifier (16 wide, 1 layer) and tokenizer saved under ``path``."""
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from duelgym.lm.vocabulary import build_tokenizer

    tokenizer = build_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=64, num_labels=1,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    GPT2ForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_a_local_hugging_face_reward_model_is_a_rater(tmp_path) -> None:
    save_tiny_reward_model(tmp_path)
    env = duelgym.make("LLMDuel-v0", prompts=["rev abc", "sort 3 1 2"], rater=str(tmp_path), temperature=0.5)
    rater = env.unwrapped.rater
    p = rater.p_first(["rev abc", "rev abc"], ["cba", "xyz"], ["xyz", "cba"])
    assert p.shape == (2,) and p[0] + p[1] == pytest.approx(1.0) and p[0] != 0.5
    assert rater.p_first(["rev abc"], ["cba"], ["cba"])[0] == pytest.approx(0.5)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(("cba", "xyz"))
    assert reward in (0.0, 1.0) and 0.0 < info["p_first"] < 1.0
    # Evaluation scores the same model's logits at T = 1 (shared, not loaded twice), whatever the feedback T.
    reference = env.unwrapped.eval_rater
    assert reference.model is rater.model
    scores = rater.utility(["rev abc"] * 2, ["cba", "xyz"])
    assert reference.p_first(["rev abc"], ["cba"], ["xyz"])[0] == pytest.approx(1 / (1 + np.exp(scores[1] - scores[0])))
    assert p[0] == pytest.approx(1 / (1 + np.exp((scores[1] - scores[0]) / 0.5)))


def test_hugging_face_rater_gives_the_same_p_first_batched_as_one_pair_at_a_time(tmp_path) -> None:
    from duelgym.oracle import HuggingFaceRater

    # Texts of very different lengths (so padding matters), 7 pairs in batches of 3 (so batch boundaries matter).
    prompts = ["rev abc", "sort 3 1 2", "shift abc", "rev hello world", "sort 9", "shift xy", "rev x"]
    first = ["cba", "1 2 3", "[bcd]", "dlrow olleh and then some", "9", "yz", "x"]
    second = ["abc", "3 2 1 0", "bcd", "x", "[9]", "[yz] plus filler words", "xx"]
    rater = HuggingFaceRater(save_tiny_reward_model(tmp_path), temperature=0.5, batch_size=3)
    batched = rater.p_first(prompts, first, second)
    one_at_a_time = np.array([rater.p_first([p], [a], [b])[0] for p, a, b in zip(prompts, first, second, strict=True)])
    assert batched.shape == (7,)
    np.testing.assert_allclose(batched, one_at_a_time, atol=1e-6)
    # The comparison can fail: the pairs' probabilities differ, so scores of mixed-up order would not match...
    assert np.abs(one_at_a_time - one_at_a_time[::-1]).max() > 1e-3
    assert np.abs(one_at_a_time - np.roll(one_at_a_time, 1)).max() > 1e-3
    # ...and left padding (the bug this test was written for: GPT-2 then sees shifted positions) changes the scores.
    rater.tokenizer.padding_side = "left"
    assert np.abs(rater.p_first(prompts, first, second) - one_at_a_time).max() > 1e-3
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        HuggingFaceRater(str(tmp_path), batch_size=0)


def test_vector_step_reports_the_queried_prompts_as_final_obs_and_the_next_ones_at_the_top() -> None:
    prompts = [f"sort {i} {i + 1}" for i in range(7)]
    venv = duelgym.make_vec("LLMDuel-v0", num_envs=3, prompts=prompts, rater=lambda p, a, b: np.full(len(a), 0.5))
    queried, info = venv.reset(seed=0)
    for _ in range(4):
        following, _, terminated, _, info = venv.step([("a", "b")] * 3)
        assert terminated.all() and info["_final_obs"].all()
        assert list(info["final_obs"]) == list(queried), "final_obs must be the prompts the pairs answered"
        assert [prompts[i] for i in info["prompt_id"]] == list(following), "top-level info belongs to the new prompts"
        assert [prompts[i] for i in info["final_info"]["prompt_id"]] == list(queried)
        queried = following
