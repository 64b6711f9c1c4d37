"""MatrixDuel-v0: a fixed K×K preference matrix, for classic (non-contextual) dueling bandits."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray

from duelgym._validation import check_int
from duelgym.envs._bandit import ArmDuelEnv, ArmDuelVectorEnv, ArmProblem, Contexts
from duelgym.oracle import BradleyTerry

__all__ = [
    "MatrixDuelEnv",
    "MatrixDuelVectorEnv",
    "MatrixProblem",
    "copeland_scores",
    "validate_preference_matrix",
]

Kind = Literal["bradley_terry", "condorcet", "cyclic"]
_MIN_ARMS: dict[str, int] = {"bradley_terry": 2, "condorcet": 4, "cyclic": 3}


def validate_preference_matrix(matrix: ArrayLike, atol: float = 1e-9) -> NDArray[np.float64]:
    """``matrix`` as a float64 preference matrix, or a ``ValueError`` naming its first violation.

    A preference matrix P is square (K ≥ 2), finite, with entries in [0, 1], P[i, i] = ½ and
    P[i, j] + P[j, i] = 1 (within ``atol``). Anything that is not an array of real numbers (a string, objects)
    raises a ``TypeError``.
    """
    try:
        raw = np.asarray(matrix)
    except (TypeError, ValueError) as error:  # ragged rows
        raise ValueError(
            f"matrix must be a square K×K array of probabilities, got ragged rows {matrix!r}"[:300]
        ) from error
    if raw.dtype.kind not in "biuf":
        raise TypeError(
            f"matrix must be a square K×K array of probabilities (real numbers), got {matrix!r} of type "
            f"{type(matrix).__name__} with dtype {raw.dtype}"[:300]
        )
    p = raw.astype(np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] < 2:
        raise ValueError(f"matrix must be square with at least 2 arms, got shape {p.shape}")
    checks = (
        (~np.isfinite(p), "is not finite"),
        ((p < 0) | (p > 1), "is outside [0, 1]"),
    )
    for bad, reason in checks:
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"matrix[{i}, {j}] = {p[i, j]} {reason}; a preference matrix holds probabilities")
    off_diagonal = np.abs(np.diag(p) - 0.5) > atol
    if off_diagonal.any():
        i = int(np.argmax(off_diagonal))
        raise ValueError(f"matrix[{i}, {i}] = {p[i, i]}; a preference matrix has ½ on its diagonal")
    asymmetric = np.abs(p + p.T - 1.0) > atol
    if asymmetric.any():
        i, j = np.argwhere(asymmetric)[0]
        raise ValueError(
            f"matrix[{i}, {j}] + matrix[{j}, {i}] = {p[i, j]} + {p[j, i]} = {p[i, j] + p[j, i]}; "
            "a preference matrix needs P[i, j] + P[j, i] = 1"
        )
    return p


def copeland_scores(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Normalised Copeland score of each arm: (wins + ½·ties) / (K − 1), wins counting P[i, j] > ½."""
    k = matrix.shape[0]
    wins = (matrix > 0.5).sum(axis=1)
    ties = (matrix == 0.5).sum(axis=1) - 1  # minus the diagonal
    return (wins + 0.5 * ties) / (k - 1)


def _structure(kind: str, num_arms: int) -> NDArray[np.float64]:
    """Skew-symmetric score differences s[i, j] of a built-in kind, before relabelling; arm 0 is a winner."""
    index = np.arange(num_arms)
    if kind == "bradley_terry":
        utilities = np.linspace(1.0, 0.0, num_arms)
        return utilities[:, None] - utilities[None, :]
    order = np.sign(index[None, :] - index[:, None]).astype(np.float64)  # i beats j when i < j
    # One upset makes a cycle: with arm 0 left alone (condorcet) or arm 0 itself beaten (cyclic).
    loser = 1 if kind == "condorcet" else 0
    last = num_arms - 1
    order[last, loser], order[loser, last] = 1.0, -1.0
    return order


class MatrixProblem(ArmProblem):
    """Choices drawn from a fixed preference matrix; arms are one-hot features. See :class:`MatrixDuelEnv`."""

    def __init__(
        self,
        num_arms: int | None = None,
        kind: Kind | None = None,
        temperature: float | None = None,
        matrix: ArrayLike | None = None,
    ) -> None:
        if matrix is not None:
            for name, value in (("kind", kind), ("temperature", temperature)):
                if value is not None:
                    raise ValueError(f"{name}={value!r} cannot be combined with a user matrix; pass one or the other")
            self.base = validate_preference_matrix(matrix)
            if num_arms is not None and check_int("num_arms", num_arms) != self.base.shape[0]:
                raise ValueError(f"num_arms={num_arms} does not match the matrix's {self.base.shape[0]} arms")
            self.kind = "custom"
        else:
            self.kind = "bradley_terry" if kind is None else kind
            if self.kind not in _MIN_ARMS:
                raise ValueError(f"kind must be one of {sorted(_MIN_ARMS)}, got {kind!r}")
            num_arms = check_int("num_arms", 8 if num_arms is None else num_arms, minimum=_MIN_ARMS[self.kind])
            rater = BradleyTerry(1.0 if temperature is None else temperature)
            self.base = rater.probability(_structure(self.kind, num_arms), 0.0)
        self.num_arms = self.feature_dim = self.base.shape[0]
        self.matrix = self.base
        self.scores = copeland_scores(self.base)
        self._one_hot = np.eye(self.num_arms, dtype=np.float32)

    def arm_space(self) -> spaces.Box:
        return spaces.Box(0.0, 1.0, shape=(self.num_arms, self.num_arms), dtype=np.float32)

    def draw_instance(self, rng: np.random.Generator) -> None:
        if self.kind == "custom":
            return
        # Relabel the arms at random so that no fixed index is the winner.
        labels = rng.permutation(self.num_arms)
        self.matrix = self.base[np.ix_(labels, labels)]
        self.scores = copeland_scores(self.matrix)

    def draw_contexts(self, rng: np.random.Generator, batch: int) -> Contexts:
        arms = np.broadcast_to(self._one_hot, (batch, *self._one_hot.shape)).copy()
        scores = np.broadcast_to(self.scores, (batch, self.num_arms)).copy()
        return Contexts(arms=arms, scores=scores)

    def p_first(self, contexts: Contexts, first: NDArray[np.int64], second: NDArray[np.int64]) -> NDArray[np.float64]:
        return self.matrix[first, second]


class MatrixDuelEnv(ArmDuelEnv):
    """Dueling bandit on a fixed K×K preference matrix P, P[i, j] = p(arm i ≻ arm j).

    ## Description
    The classic (non-contextual) dueling bandit, for property tests and textbook regret. Built-in kinds:

    * ``"bradley_terry"``: P[i, j] = σ((u_i − u_j)/T) with utilities evenly spaced from 1 to 0: a total order.
    * ``"condorcet"``: one arm beats every other (a Condorcet winner), but the others contain a cycle, so there
      is no total order (K ≥ 4). Entries are σ(±1/T).
    * ``"cyclic"``: a cycle through the top arm, so no Condorcet winner exists (K ≥ 3). Entries are σ(±1/T).

    The built-in kinds relabel their arms with a random permutation drawn from the reset seed, so the winner's
    index varies with the seed. A user ``matrix`` is used as given.

    ## Action Space
    :class:`~duelgym.spaces.ArmPair` = ``MultiDiscrete([K, K])``, as in LinearDuel-v0.

    ## Observation Space
    ``Dict({"arms": Box(0, 1, shape=(K, K), dtype=float32)})``: one-hot arm features (the identity matrix), so
    agents written for arm features run unchanged.

    ## Rewards
    1.0 if the rater prefers the first arm (probability P[first, second]), else 0.0.

    ## Starting State
    The arm labelling is drawn from the seed of ``reset(seed=...)`` (or on the first reset) and kept by
    ``reset()`` calls without a seed. The observation never changes.

    ## Episode End
    Every episode lasts one step: ``terminated`` is always True.

    ## Info
    ``p_first`` = P[first, second] (evaluation only), and regret measured in normalised Copeland scores
    c_i = (wins + ½·ties)/(K − 1), defined for every matrix, cyclic ones included: ``regret_strong`` = 2c* − c_a −
    c_b, ``regret_weak`` = c* − max(c_a, c_b), ``best_arm`` = a Copeland winner (the Condorcet winner when one
    exists; the lowest index among ties).

    ## Arguments
    ```python
    duelgym.make("MatrixDuel-v0", num_arms=8, kind="bradley_terry", temperature=1.0)
    duelgym.make("MatrixDuel-v0", matrix=[[0.5, 0.7], [0.3, 0.5]])
    ```
    * ``num_arms``: K (default 8; with ``matrix``, inferred and checked if given).
    * ``kind``: ``"bradley_terry"`` (default), ``"condorcet"`` or ``"cyclic"``.
    * ``temperature``: T > 0 of the built-in kinds (default 1).
    * ``matrix``: a K×K preference matrix (entries in [0, 1], P + Pᵀ = 1, ½ on the diagonal); excludes
      ``kind`` and ``temperature``. A matrix that is not a preference matrix raises an error naming the first
      violating entry.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        num_arms: int | None = None,
        kind: Kind | None = None,
        temperature: float | None = None,
        matrix: ArrayLike | None = None,
    ) -> None:
        super().__init__(MatrixProblem(num_arms, kind, temperature, matrix))


class MatrixDuelVectorEnv(ArmDuelVectorEnv):
    """``num_envs`` MatrixDuel-v0 episodes per step as one batch (autoreset ``SAME_STEP``); sub-envs share P.

    Takes the keyword arguments of :class:`MatrixDuelEnv`. The step's info is under ``info["final_info"]``
    (Gymnasium's ``SAME_STEP`` layout, see :class:`~duelgym.envs._bandit.ArmDuelVectorEnv`).
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        super().__init__(MatrixProblem(**kwargs), num_envs)
