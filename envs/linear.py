"""LinearDuel-v0: the contextual linear-utility dueling bandit (the standard synthetic benchmark)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from duelgym._validation import check_finite, check_int
from duelgym.envs._bandit import ArmDuelEnv, ArmDuelVectorEnv, ArmProblem, Contexts
from duelgym.oracle import BradleyTerry

__all__ = ["INSTANCES", "LinearDuelEnv", "LinearDuelVectorEnv", "LinearProblem"]

ArmSet = Literal["hypercube", "gaussian"]
Instance = Literal["contextual", "vacdb"]
INSTANCES: tuple[Instance, ...] = ("contextual", "vacdb")

#: Width of the VACDB instance's per-coordinate noise: uniform in [−0.1, 0) added to each ±1 vertex coordinate.
_VACDB_NOISE = 0.1

# Above this many random keys per draw, subsets of hypercube vertices are drawn one context at a time.
_MAX_SORT_KEYS = 1 << 22


class LinearProblem(ArmProblem):
    """u(x, a) = θ*ᵀ φ(x, a) with Bradley-Terry choices p(a ≻ b) = σ((u_a − u_b)/T).

    ``instance="contextual"``: θ* is uniform on the sphere of radius ``theta_norm`` and every context draws new arms
    (``arm_set``). ``instance="vacdb"``: the published benchmark of Di et al. (ICLR 2024), fixed arms and a θ* on two
    coordinates. See :class:`LinearDuelEnv` for the arguments.

    Attributes:
        theta: θ* of the current instance, shape (d,), norm ``theta_norm``.
        fixed_arms: The arms of every context with ``instance="vacdb"`` (float32, (K, d)); ``None`` otherwise.
    """

    def __init__(
        self,
        dim: int = 5,
        num_arms: int = 32,
        theta_norm: float = 1.0,
        temperature: float = 1.0,
        arm_set: ArmSet | None = None,
        instance: Instance = "contextual",
    ) -> None:
        self.feature_dim = check_int("dim", dim, minimum=1)
        self.num_arms = check_int("num_arms", num_arms, minimum=2)
        self.theta_norm = check_finite("theta_norm", theta_norm, minimum=0.0)
        self.rater = BradleyTerry(temperature)
        if not isinstance(instance, str) or instance not in INSTANCES:
            raise ValueError(f"instance must be one of {', '.join(map(repr, INSTANCES))}, got {instance!r}")
        self.instance: Instance = instance
        if arm_set is not None and arm_set not in ("hypercube", "gaussian"):
            raise ValueError(f"arm_set must be 'hypercube' or 'gaussian', got {arm_set!r}")
        if instance == "vacdb":
            if arm_set is not None:
                raise ValueError(
                    f"arm_set={arm_set!r} does not apply to instance='vacdb' (its arms are fixed hypercube vertices "
                    "plus noise); leave arm_set unset"
                )
            if self.feature_dim < 2:
                raise ValueError(f"instance='vacdb' puts θ* on two coordinates, so it needs dim >= 2, got dim={dim}")
            if self.theta_norm <= 0:
                raise ValueError(
                    f"instance='vacdb' measures regret in units of theta_norm (its scale), so theta_norm must be > 0, "
                    f"got {self.theta_norm}"
                )
        self.arm_set: ArmSet = "hypercube" if instance == "vacdb" else (arm_set or "gaussian")
        if self.arm_set == "hypercube":
            if self.feature_dim > 62:
                raise ValueError(f"hypercube arms support dim <= 62, got dim={self.feature_dim}")
            if self.num_arms > 2**self.feature_dim:
                raise ValueError(
                    f"num_arms={self.num_arms} exceeds the 2**dim = {2**self.feature_dim} distinct vertices of the "
                    f"dim={self.feature_dim} hypercube; lower num_arms, raise dim or use arm_set='gaussian'"
                )
        self._scale = np.float32(1.0 / np.sqrt(self.feature_dim))
        if instance == "contextual" and self.arm_set == "hypercube" and self.num_arms == 2**self.feature_dim:
            # Every context holds all vertices in code order: build them once.
            self._all_vertices = self._vertices(np.arange(self.num_arms))
        # Regret is reported in units of θ*/theta_norm for the vacdb instance (its definition), of θ* otherwise.
        self._utility_per_score = self.theta_norm if instance == "vacdb" else 1.0
        self.theta = np.zeros(self.feature_dim)
        self.fixed_arms: NDArray[np.float32] | None = None

    def arm_space(self) -> spaces.Box:
        shape = (self.num_arms, self.feature_dim)
        if self.instance == "vacdb":
            return spaces.Box(-1.0 - _VACDB_NOISE, 1.0, shape=shape, dtype=np.float32)
        if self.arm_set == "hypercube":
            return spaces.Box(-self._scale, self._scale, shape=shape, dtype=np.float32)
        return spaces.Box(-np.inf, np.inf, shape=shape, dtype=np.float32)

    def draw_instance(self, rng: np.random.Generator) -> None:
        if self.instance == "vacdb":
            theta = rng.random(self.feature_dim)
            theta[2:] = 0.0
            self.theta = self.theta_norm * theta / np.linalg.norm(theta)
            vertices = self._vertices(np.arange(self.num_arms)) / self._scale  # ±1 entries, codes 0 … K − 1
            noise = (rng.random((self.num_arms, self.feature_dim)) - 1.0) * _VACDB_NOISE  # uniform in [−0.1, 0)
            self.fixed_arms = (vertices + noise).astype(np.float32)
            return
        direction = rng.standard_normal(self.feature_dim)
        self.theta = self.theta_norm * direction / np.linalg.norm(direction)

    def draw_contexts(self, rng: np.random.Generator, batch: int) -> Contexts:
        shape = (batch, self.num_arms, self.feature_dim)
        if self.instance == "vacdb":
            if self.fixed_arms is None:
                raise RuntimeError("draw_instance must run before draw_contexts")
            arms = np.broadcast_to(self.fixed_arms, shape).copy()
        elif self.arm_set == "gaussian":
            # N(0, I/d): E‖a‖² = 1, the same scale as the unit-norm hypercube vertices.
            arms = (rng.standard_normal(shape) * self._scale).astype(np.float32)
        elif self.num_arms == 2**self.feature_dim:
            arms = np.broadcast_to(self._all_vertices, shape).copy()
        else:
            arms = self._vertices(self._random_vertex_codes(rng, batch))
        return Contexts(arms=arms, scores=arms.astype(np.float64) @ (self.theta / self._utility_per_score))

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
        utilities = contexts.scores * self._utility_per_score
        return self.rater.probability(utilities[rows, first], utilities[rows, second])


class LinearDuelEnv(ArmDuelEnv):
    """Contextual linear-utility dueling bandit, with the published VACDB benchmark available by name.

    ## Description
    Each episode shows K arms described by d features. The agent queries a pair of arms and a simulated rater
    prefers one of them with the Bradley-Terry probability p(a ≻ b) = σ((u_a − u_b)/T) of the hidden linear
    utility u(a) = θ*ᵀ φ(a). The sizes (d = 5, K = 32, ‖θ*‖ = 1, logistic link) are those of the standard
    contextual dueling bandit benchmark (VACDB, Di et al., ICLR 2024).

    Two instances:
    * ``"contextual"`` (default): every context draws a fresh set of K arms, so a held-out context is new. The
      default arms are Gaussian, N(0, I/d) per arm: continuous (the arms of a context are distinct and the best arm
      unique almost surely), isotropic (no direction of θ* is privileged and every direction gets explored), and
      E‖a‖² = 1, the scale of the unit-norm hypercube vertices, so utilities spread as before (standard deviation
      ‖θ*‖/√d ≈ 0.45 at ‖θ*‖ = 1). Random vertices would not do at the default sizes: K = 2^d means every context
      holds all 32 vertices, i.e. one context. ``arm_set="hypercube"`` gives K distinct random vertices of
      {−1, 1}^d / √d per context (with K = 2^d: all vertices in the same order, a non-contextual bandit).
    * ``"vacdb"``: the benchmark of Di et al. (code uclaml/VACDB): the arms are the vertices of {−1, 1}^d with codes
      0 … K − 1 (bit i of the code = sign of coordinate i; all 32 vertices at the defaults) plus uniform noise in
      [−0.1, 0) per coordinate, drawn once per instance and shown unchanged in every context; θ* is drawn
      U[0, 1]^d, zeroed beyond the first two coordinates, normalised and multiplied by ``theta_norm`` (the paper's
      "scale", default 1). The paper runs T = 4,000 queries, one per round.

    ## Action Space
    :class:`~duelgym.spaces.ArmPair` = ``MultiDiscrete([K, K])``: an int array ``(first, second)`` of shape
    (2,); a tuple of two ints is accepted too. The two arms may be equal.

    ## Observation Space
    ``Dict({"arms": Box(shape=(K, d), dtype=float32)})``: the arms' features. ``"gaussian"`` arms are unbounded;
    ``"hypercube"`` arms lie in ±1/√d; ``"vacdb"`` arms in [−1.1, 1].

    ## Rewards
    1.0 if the rater prefers the first arm, else 0.0: one sampled choice per step.

    ## Starting State
    The instance (θ*, and the fixed arms of ``"vacdb"``) is drawn from the seed of ``reset(seed=...)`` (or on the
    first reset) and kept by later ``reset()`` calls without a seed, which draw new contexts only. Contextual θ* is
    uniform on the sphere of radius ``theta_norm``.

    ## Episode End
    Every episode lasts one step: ``terminated`` is always True. Stepping again needs a ``reset()``.

    ## Info
    ``step`` returns ``p_first`` (the true preference probability: for evaluation only, never for agents),
    ``regret_strong``, ``regret_weak`` = u* − max(u_a, u_b) and ``best_arm`` (index of u*). ``"contextual"``:
    ``regret_strong`` = 2u* − u_a − u_b in utility units, u = θ*ᵀa. ``"vacdb"``: VACDB's definition,
    ``regret_strong`` = (2x* − x_a − x_b)ᵀθ* / ``theta_norm`` (x* the best arm), i.e. regret in units of the
    normalised θ*, so runs at different scales compare directly; ``regret_weak`` uses the same units.

    ## Arguments
    ```python
    duelgym.make("LinearDuel-v0", dim=5, num_arms=32, theta_norm=1.0, temperature=1.0, arm_set=None,
                 instance="contextual")
    ```
    * ``dim``: feature dimension d ≥ 1 (≤ 62 for hypercube arms, ≥ 2 for ``"vacdb"``).
    * ``num_arms``: arms per context K ≥ 2 (≤ 2^d for hypercube arms and ``"vacdb"``).
    * ``theta_norm``: ‖θ*‖ ≥ 0, the problem's scale: larger is easier to rank (benchmarks sweep 0.1 … 4); > 0 for
      ``"vacdb"``.
    * ``temperature``: Bradley-Terry temperature T > 0 (T = 1: the logistic link).
    * ``arm_set``: ``"gaussian"`` (default) or ``"hypercube"``, the contextual instance's arms; not for ``"vacdb"``.
    * ``instance``: ``"contextual"`` (default) or ``"vacdb"`` (the published benchmark above).

    ``duelgym.make_vec("LinearDuel-v0", num_envs=B, ...)`` builds :class:`LinearDuelVectorEnv`.

    ## Version History
    * v0: initial version. Later within v0: the default draws fresh Gaussian arms per context (it used to show the
      same 32 hypercube vertices in every context), and ``instance="vacdb"`` was added.
    """

    def __init__(
        self,
        dim: int = 5,
        num_arms: int = 32,
        theta_norm: float = 1.0,
        temperature: float = 1.0,
        arm_set: ArmSet | None = None,
        instance: Instance = "contextual",
    ) -> None:
        super().__init__(LinearProblem(dim, num_arms, theta_norm, temperature, arm_set, instance))


class LinearDuelVectorEnv(ArmDuelVectorEnv):
    """``num_envs`` LinearDuel-v0 episodes per step as one batched computation (autoreset ``SAME_STEP``).

    Takes the keyword arguments of :class:`LinearDuelEnv`. All sub-envs share the instance (θ*, and the fixed arms
    of ``instance="vacdb"``) and the rater and differ only in their contexts: a step is a batch of ``num_envs``
    queries to one rater. Observations are ``{"arms": (B, K, d)}`` and actions an int array (B, 2). A step returns
    the next contexts, and its own info (``p_first``, regrets, ``best_arm``: arrays of length B) under
    ``info["final_info"]``, as Gymnasium's ``SAME_STEP`` autoreset lays it out (see
    :class:`~duelgym.envs._bandit.ArmDuelVectorEnv`).
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        super().__init__(LinearProblem(**kwargs), num_envs)
