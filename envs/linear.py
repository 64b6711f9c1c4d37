"""LinearDuel-v0: the contextual linear-utility dueling bandit (the standard synthetic benchmark)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from duelgym._validation import check_finite, check_int
from duelgym.envs._bandit import ArmDuelEnv, ArmDuelVectorEnv, ArmProblem, Contexts
from duelgym.oracle import BradleyTerry

__all__ = ["LinearDuelEnv", "LinearDuelVectorEnv", "LinearProblem"]

ArmSet = Literal["hypercube", "gaussian"]

# Above this many random keys per draw, subsets of hypercube vertices are drawn one context at a time.
_MAX_SORT_KEYS = 1 << 22


class LinearProblem(ArmProblem):
    """u(x, a) = θ*ᵀ φ(x, a) with Bradley-Terry choices p(a ≻ b) = σ((u_a − u_b)/T).

    θ* is uniform on the sphere of radius ``theta_norm``. See :class:`LinearDuelEnv` for the arguments.
    """

    def __init__(
        self,
        dim: int = 5,
        num_arms: int = 32,
        theta_norm: float = 1.0,
        temperature: float = 1.0,
        arm_set: ArmSet = "hypercube",
    ) -> None:
        self.feature_dim = check_int("dim", dim, minimum=1)
        self.num_arms = check_int("num_arms", num_arms, minimum=2)
        self.theta_norm = check_finite("theta_norm", theta_norm, minimum=0.0)
        self.rater = BradleyTerry(temperature)
        if arm_set not in ("hypercube", "gaussian"):
            raise ValueError(f"arm_set must be 'hypercube' or 'gaussian', got {arm_set!r}")
        self.arm_set: ArmSet = arm_set
        if arm_set == "hypercube":
            if self.feature_dim > 62:
                raise ValueError(f"arm_set='hypercube' supports dim <= 62, got dim={self.feature_dim}")
            if self.num_arms > 2**self.feature_dim:
                raise ValueError(
                    f"num_arms={self.num_arms} exceeds the 2**dim = {2**self.feature_dim} distinct vertices of the "
                    f"dim={self.feature_dim} hypercube; lower num_arms, raise dim or use arm_set='gaussian'"
                )
        self._scale = np.float32(1.0 / np.sqrt(self.feature_dim))
        if arm_set == "hypercube" and self.num_arms == 2**self.feature_dim:
            # Every context holds all vertices in code order: build them once.
            self._all_vertices = self._vertices(np.arange(self.num_arms))
        self.theta = np.zeros(self.feature_dim)

    def arm_space(self) -> spaces.Box:
        shape = (self.num_arms, self.feature_dim)
        if self.arm_set == "hypercube":
            return spaces.Box(-self._scale, self._scale, shape=shape, dtype=np.float32)
        return spaces.Box(-np.inf, np.inf, shape=shape, dtype=np.float32)

    def draw_instance(self, rng: np.random.Generator) -> None:
        direction = rng.standard_normal(self.feature_dim)
        self.theta = self.theta_norm * direction / np.linalg.norm(direction)

    def draw_contexts(self, rng: np.random.Generator, batch: int) -> Contexts:
        shape = (batch, self.num_arms, self.feature_dim)
        if self.arm_set == "gaussian":
            # N(0, I/d): E‖a‖² = 1, the same scale as the unit-norm hypercube vertices.
            arms = (rng.standard_normal(shape) * self._scale).astype(np.float32)
        elif self.num_arms == 2**self.feature_dim:
            arms = np.broadcast_to(self._all_vertices, shape).copy()
        else:
            arms = self._vertices(self._random_vertex_codes(rng, batch))
        return Contexts(arms=arms, scores=arms.astype(np.float64) @ self.theta)

    def _vertices(self, codes: NDArray[np.int64]) -> NDArray[np.float32]:
        """Features of the hypercube vertices with the given integer codes (bit i = sign of feature i)."""
        bits = (codes[..., None] >> np.arange(self.feature_dim)) & 1
        return np.where(bits == 1, self._scale, -self._scale).astype(np.float32)

    def _random_vertex_codes(self, rng: np.random.Generator, batch: int) -> NDArray[np.int64]:
        """Codes of ``num_arms`` distinct vertices per context, a uniformly random ordered subset: (batch, K)."""
        num_vertices = 2**self.feature_dim
        if batch * num_vertices <= _MAX_SORT_KEYS:
            return np.argsort(rng.random((batch, num_vertices)), axis=1)[:, : self.num_arms]
        return np.stack([rng.choice(num_vertices, size=self.num_arms, replace=False) for _ in range(batch)])

    def p_first(self, contexts: Contexts, first: NDArray[np.int64], second: NDArray[np.int64]) -> NDArray[np.float64]:
        rows = np.arange(len(first))
        return self.rater.probability(contexts.scores[rows, first], contexts.scores[rows, second])


class LinearDuelEnv(ArmDuelEnv):
    """Contextual linear-utility dueling bandit.

    ## Description
    Each episode shows K arms described by d features. The agent queries a pair of arms and a simulated rater
    prefers one of them with the Bradley-Terry probability p(a ≻ b) = σ((u_a − u_b)/T) of the hidden linear
    utility u(a) = θ*ᵀ φ(a). The defaults (d = 5, K = 32 hypercube arms, ‖θ*‖ = 1, logistic link) mirror the
    standard contextual dueling bandit benchmark (VACDB, Di et al., ICLR 2024).

    ## Action Space
    :class:`~duelgym.spaces.ArmPair` = ``MultiDiscrete([K, K])``: an int array ``(first, second)`` of shape
    (2,); a tuple of two ints is accepted too. The two arms may be equal.

    ## Observation Space
    ``Dict({"arms": Box(shape=(K, d), dtype=float32)})``: the arms' features. ``"hypercube"`` arms are
    vertices of {−1, 1}^d scaled to unit norm (bounds ±1/√d); ``"gaussian"`` arms are N(0, I/d) (unbounded).

    ## Rewards
    1.0 if the rater prefers the first arm, else 0.0: one sampled choice per step.

    ## Starting State
    θ*, uniform on the sphere of radius ``theta_norm``, is drawn from the seed of ``reset(seed=...)`` (or on the
    first reset) and kept by later ``reset()`` calls without a seed, which draw new contexts only. With
    ``arm_set="hypercube"`` and K = 2^d, every context holds all vertices in the same order; with fewer arms,
    each context draws K distinct vertices at random.

    ## Episode End
    Every episode lasts one step: ``terminated`` is always True. Stepping again needs a ``reset()``.

    ## Info
    ``step`` returns ``p_first`` (the true preference probability: for evaluation only, never for agents),
    ``regret_strong`` = 2u* − u_a − u_b, ``regret_weak`` = u* − max(u_a, u_b) and ``best_arm`` (index of u*).

    ## Arguments
    ```python
    duelgym.make("LinearDuel-v0", dim=5, num_arms=32, theta_norm=1.0, temperature=1.0, arm_set="hypercube")
    ```
    * ``dim``: feature dimension d ≥ 1 (≤ 62 for the hypercube).
    * ``num_arms``: arms per context K ≥ 2 (≤ 2^d for the hypercube).
    * ``theta_norm``: ‖θ*‖ ≥ 0, the problem's scale: larger is easier to rank (benchmarks sweep 0.1 … 4).
    * ``temperature``: Bradley-Terry temperature T > 0.
    * ``arm_set``: ``"hypercube"`` or ``"gaussian"``.

    ``duelgym.make_vec("LinearDuel-v0", num_envs=B, ...)`` builds :class:`LinearDuelVectorEnv`.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        dim: int = 5,
        num_arms: int = 32,
        theta_norm: float = 1.0,
        temperature: float = 1.0,
        arm_set: ArmSet = "hypercube",
    ) -> None:
        super().__init__(LinearProblem(dim, num_arms, theta_norm, temperature, arm_set))


class LinearDuelVectorEnv(ArmDuelVectorEnv):
    """``num_envs`` LinearDuel-v0 episodes per step as one batched computation (autoreset ``SAME_STEP``).

    Takes the keyword arguments of :class:`LinearDuelEnv`. All sub-envs share θ* and the rater and differ only in
    their contexts: a step is a batch of ``num_envs`` queries to one rater. Observations are
    ``{"arms": (B, K, d)}`` and actions an int array (B, 2). A step returns the next contexts, and its own info
    (``p_first``, regrets, ``best_arm``: arrays of length B) under ``info["final_info"]``, as Gymnasium's
    ``SAME_STEP`` autoreset lays it out (see :class:`~duelgym.envs._bandit.ArmDuelVectorEnv`).
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        super().__init__(LinearProblem(**kwargs), num_envs)
