"""LLMDuel-v0: prompts in, pairs of responses out, one Bradley-Terry choice of a simulated rater per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from duelgym._validation import check_int, check_positive_finite
from duelgym.envs._vector import object_array, same_step_info, with_masks
from duelgym.lm.loading import EMBEDDED_MODEL
from duelgym.oracle import CallableRater, HuggingFaceRater, UtilityRater, check_probabilities, sample_choices
from duelgym.spaces import DEFAULT_MAX_TEXT_LENGTH, TextPair, UnicodeText
from duelgym.tasks import Split, TransformTask, TransformUtility

__all__ = ["LLMDuelEnv", "LLMDuelVectorEnv", "TextDuel"]

#: Prompts per split of the embedded task: enough that an agent rarely sees a prompt twice in the main job.
DEFAULT_NUM_PROMPTS = {"train": 2000, "eval": 300}
#: Feedback temperature of the programmatic rater on the embedded task's utility (in utility units). Each hidden
#: preference is a step of 0.1 (utility.py), which the rater at 0.5 gets right with p = σ(0.2) ≈ 0.55: choices
#: are genuinely noisy where the best responses are told apart (mean binary entropy 0.945 bits, 0.655 nats, on
#: passive's random pairs), yet informative: passive with the point model climbs to 0.87 after 4,096 queries and
#: 0.90 after 51,200 against a 0.919 ceiling (2 seeds). At 0.3 it got there in half the queries and then stood
#: still (0.88 from 4,096 to 12,800 queries). Measured with benchmarks/passive_learner.py.
DEFAULT_TEMPERATURE = 0.5
#: Temperature of the fixed reference rater that scores evaluations, whatever the feedback temperature: utility
#: units for the programmatic rater (the feasibility study's T = 0.1), and 1 for a Hugging Face reward model,
#: whose scores are already logits.
REFERENCE_TEMPERATURE = {"utility": 0.1, "reward_model": 1.0}


def resolve_raters(rater: Any, temperature: float, task_prompts: bool) -> tuple[Any, Any]:
    """The env's feedback rater and its fixed reference rater for evaluation.

    The programmatic rater (the default) and a Hugging Face reward model by name give feedback at
    ``temperature`` and are scored at :data:`REFERENCE_TEMPERATURE` (the same model, so nothing is loaded twice);
    a callable or an object with ``p_first`` is its own reference (its noise is its own business).
    """
    if rater is None:
        if not task_prompts:
            raise ValueError(
                "a user prompt list needs a rater: pass rater=callable(prompts, first, second) or a model path"
            )
        utility = TransformUtility()
        return UtilityRater(utility, temperature), UtilityRater(utility, REFERENCE_TEMPERATURE["utility"])
    if isinstance(rater, str):
        feedback = HuggingFaceRater(rater, temperature)
        return feedback, feedback.at_temperature(REFERENCE_TEMPERATURE["reward_model"])
    if hasattr(rater, "p_first"):
        return rater, rater
    if callable(rater):
        wrapped = CallableRater(rater)
        return wrapped, wrapped
    raise TypeError(f"rater must be None, a callable, a model name or path, or have p_first; got {rater!r}")


class TextDuel:
    """What the single and vector LLMDuel envs share: prompts, rater, spaces and the step's outcome."""

    def __init__(
        self,
        split: Split = "train",
        num_prompts: int | None = None,
        prompts: Sequence[str] | None = None,
        rater: str | Callable[..., Any] | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        base_lm: str = EMBEDDED_MODEL,
        task_seed: int = 0,
        max_length: int = DEFAULT_MAX_TEXT_LENGTH,
    ) -> None:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        self.split = split
        self.max_length = check_int("max_length", max_length, minimum=1)
        temperature = check_positive_finite("temperature", temperature)
        if prompts is None:
            count = (
                DEFAULT_NUM_PROMPTS[split] if num_prompts is None else check_int("num_prompts", num_prompts, minimum=1)
            )
            self.prompts = TransformTask(check_int("task_seed", task_seed, minimum=0)).prompts(split, count)
        else:
            if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts) or len(prompts) == 0:
                raise TypeError("prompts must be a non-empty list of str")
            self.prompts = list(prompts)
        self.observation_space = UnicodeText(self.max_length)
        for prompt in self.prompts:
            if prompt not in self.observation_space:
                raise ValueError(f"prompt {prompt[:40]!r} is longer than max_length={self.max_length} or not text")
        self.action_space = TextPair(self.max_length)
        self.rater, self.eval_rater = resolve_raters(rater, temperature, prompts is None)
        self.base_lm = base_lm

    def check_pair(self, pair: Any) -> tuple[str, str]:
        """``pair`` as ``(first, second)``, or a clear error (this runs once per queried pair: keep it lean)."""
        if not isinstance(pair, (tuple, list)):
            raise TypeError(f"an action must be a pair (first, second) of str, got {type(pair).__name__}")
        if len(pair) != 2:
            raise ValueError(f"an action must be a pair of 2 responses, got {len(pair)}")
        first, second = pair
        contains = self.observation_space.contains
        if not (isinstance(first, str) and isinstance(second, str) and contains(first) and contains(second)):
            for text in pair:
                if not isinstance(text, str):
                    raise TypeError(f"responses must be str, got {text!r} of type {type(text).__name__}")
            raise ValueError(
                f"responses of {len(first)} and {len(second)} characters: each must be at most "
                f"max_length={self.max_length} characters and hold no control characters"
            )
        return first, second

    def outcome(
        self, prompt_ids: NDArray[np.int64], pairs: list[tuple[str, str]], rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[Any]]]:
        prompts = [self.prompts[i] for i in prompt_ids]
        p_first = check_probabilities(
            self.rater.p_first(prompts, [a for a, _ in pairs], [b for _, b in pairs]),
            source="the rater",
            size=len(pairs),
        )
        return sample_choices(p_first, rng), {"p_first": p_first, **self.prompt_info(prompt_ids)}

    def prompt_info(self, prompt_ids: NDArray[np.int64]) -> dict[str, NDArray[Any]]:
        """``prompt_id`` (int64) and ``split`` (object array of str) of a batch, as Gymnasium batches them."""
        return {"prompt_id": prompt_ids.copy(), "split": object_array([self.split] * len(prompt_ids), len(prompt_ids))}


class TextDuelAccess:
    """The attributes other code relies on: ``prompts`` (the split's list), ``rater`` (the feedback rater, with
    ``p_first`` and, for the programmatic rater, ``utility``), ``eval_rater`` (the fixed reference rater win rates
    are scored with) and ``base_lm`` (the name ``duelgym.lm.load`` takes)."""

    duel: TextDuel

    @property
    def prompts(self) -> list[str]:
        return self.duel.prompts

    @property
    def rater(self) -> Any:
        return self.duel.rater

    @property
    def eval_rater(self) -> Any:
        return self.duel.eval_rater

    @property
    def base_lm(self) -> str:
        return self.duel.base_lm


class LLMDuelEnv(TextDuelAccess, gym.Env[str, tuple[str, str]]):
    """Preference learning on a language model's responses.

    ## Description
    Each episode shows a prompt. The agent answers with a pair of responses drawn from its own LM; a simulated rater
    prefers one with the Bradley-Terry probability of their hidden utilities. The embedded default needs no network:
    prompts come from the transform task (sort digits, reverse or shift letters; disjoint train and eval splits),
    the rater's utility is graded correctness plus hidden preferences for three answer formats of different rarity
    in the LM's samples (the rarer, the better) and for brevity (:class:`~duelgym.tasks.TransformUtility`), and
    ``base_lm`` names the tiny LM shipped with the package.

    ## Action Space
    :class:`~duelgym.spaces.TextPair`: ``(first, second)``, two str of at most ``max_length`` characters.

    ## Observation Space
    :class:`~duelgym.spaces.UnicodeText`: the prompt.

    ## Rewards
    1.0 if the rater prefers ``first``, else 0.0 (one sampled choice).

    ## Starting State
    A prompt drawn uniformly from the split's list with the env's seed.

    ## Episode End
    Every episode lasts one step: ``terminated`` is always True.

    ## Info
    ``reset``: ``prompt_id`` (index into ``env.unwrapped.prompts``) and ``split``. ``step`` adds ``p_first``, the
    rater's true probability (for evaluation only).

    ## Arguments
    * ``split``: ``"train"`` or ``"eval"``.
    * ``num_prompts``: prompts drawn for the split (default 2,000 train, 300 eval).
    * ``prompts``: your own prompt list (then ``rater`` is required).
    * ``rater``: ``None`` (programmatic), ``callable(prompts, first, second) -> p_first``, a Hugging Face
      sequence-classification model by local path or cached name, or an object with ``p_first``.
    * ``temperature``: Bradley-Terry temperature of the feedback of the programmatic and Hugging Face raters
      (default 0.5). Evaluation (``env.unwrapped.eval_rater``, what ``duelgym.evaluation.win_rate`` scores with)
      always uses the fixed reference temperature (0.1 for the programmatic rater, 1 for a reward model's logits),
      so the feedback noise changes what agents learn, never how they are scored.
    * ``base_lm``: the LM agents should load (``duelgym.lm.load(env.unwrapped.base_lm)``).
    * ``task_seed``: seed of the generated prompts; ``max_length``: longest text accepted.

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        self.duel = TextDuel(**kwargs)
        self.observation_space = self.duel.observation_space
        self.action_space = self.duel.action_space
        self._prompt_id: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._prompt_id = int(self.np_random.integers(len(self.duel.prompts)))
        return self.duel.prompts[self._prompt_id], {"prompt_id": self._prompt_id, "split": self.duel.split}

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._prompt_id is None:
            raise ResetNeeded("Cannot call env.step() before calling env.reset() (episodes last one step)")
        pair = self.duel.check_pair(action)
        prompt_id, self._prompt_id = self._prompt_id, None
        rewards, info = self.duel.outcome(np.array([prompt_id]), [pair], self.np_random)
        info = {"p_first": float(info["p_first"][0]), "prompt_id": prompt_id, "split": self.duel.split}
        return self.duel.prompts[prompt_id], float(rewards[0]), True, False, info


class LLMDuelVectorEnv(TextDuelAccess, VectorEnv):
    """``num_envs`` LLMDuel-v0 episodes per step with one batched rater call (autoreset ``SAME_STEP``).

    Takes the keyword arguments of :class:`LLMDuelEnv`. Observations are a tuple of B prompts; actions a sequence
    of B pairs of str, one :class:`~duelgym.spaces.TextPair` per row (``action_space`` is a ``Tuple`` of B
    ``TextPair``, not Gymnasium's column-wise batch).

    Info follows Gymnasium's ``SAME_STEP`` layout exactly (what ``SyncVectorEnv(...,
    autoreset_mode=AutoresetMode.SAME_STEP)`` over :class:`LLMDuelEnv` returns), every value an array of length B
    with its ``"_key"`` mask: ``reset`` returns ``prompt_id`` and ``split``; ``step`` returns the next prompts, the
    step's results under ``info["final_info"]`` (``p_first``, ``prompt_id``, ``split`` of the queried prompts), the
    queried prompts under ``info["final_obs"]``, and ``prompt_id`` and ``split`` of the next prompts at the top
    level.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        self.num_envs = check_int("num_envs", num_envs, minimum=1)
        self.duel = TextDuel(**kwargs)
        self.single_observation_space = self.duel.observation_space
        self.single_action_space = self.duel.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        # One TextPair per row (what agents return), not Gymnasium's column-wise batch of a Tuple space.
        self.action_space = spaces.Tuple([TextPair(self.duel.max_length) for _ in range(self.num_envs)])
        self._prompt_ids: NDArray[np.int64] | None = None

    def _draw(self) -> tuple[tuple[str, ...], dict[str, Any]]:
        self._prompt_ids = self.np_random.integers(len(self.duel.prompts), size=self.num_envs)
        return tuple(self.duel.prompts[i] for i in self._prompt_ids), self.duel.prompt_info(self._prompt_ids)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        super().reset(seed=seed)
        observations, info = self._draw()
        return observations, with_masks(info, self.num_envs)

    def step(self, actions: Any):
        if self._prompt_ids is None:
            raise ResetNeeded("Cannot call env.step() before calling env.reset()")
        if not isinstance(actions, (tuple, list)) or len(actions) != self.num_envs:
            got = f"{len(actions)} items" if isinstance(actions, (tuple, list)) else f"a {type(actions).__name__}"
            raise ValueError(f"actions must be a sequence of {self.num_envs} pairs of str (one per sub-env), got {got}")
        pairs = [self.duel.check_pair(pair) for pair in actions]
        rewards, step_info = self.duel.outcome(self._prompt_ids, pairs, self.np_random)
        final_obs = object_array((self.duel.prompts[i] for i in self._prompt_ids), self.num_envs)
        observations, reset_info = self._draw()
        ones = np.ones(self.num_envs, dtype=bool)
        return observations, rewards, ones, ~ones, same_step_info(final_obs, step_info, reset_info)
