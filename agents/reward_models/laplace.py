"""Exact-posterior reference for linear utilities: Bayesian logistic regression with a Laplace approximation.

Model: u(f) = θᵀf, p(first ≻ second) = σ(θᵀx) with x = f₁ − f₂, prior θ ~ N(0, α⁻¹I). The MAP μ solves
∇ = Σᵢ (σ(θᵀxᵢ) − cᵢ) xᵢ + αθ = 0 by Newton's method (IRLS) with a backtracking line search; the covariance is
the inverse Hessian at μ, Σ = (Σᵢ σᵢ(1 − σᵢ) xᵢxᵢᵀ + αI)⁻¹ (Bishop, PRML §4.4–4.5). Every comparison ever seen
is kept: the posterior conditions on all data, with no replay-buffer forgetting. Computation is in float64.

Newton stops when a step is shorter than 1e-10 or after 100 steps. The objective is strictly convex (α > 0) and
Newton converges in a few steps in practice; if it ever reaches the step limit, the update keeps the last iterate
(μ and Σ are still the Newton iterate and its Hessian, usable but not the exact MAP) and emits a
``RuntimeWarning`` naming the update, the steps taken and the gradient norm, and its metrics report
``newton_converged = 0.0``. A warning rather than an error: a run is not lost for a fit that is merely inexact,
and ``warnings.simplefilter("error", RuntimeWarning)`` turns it into an error where that is wanted.
"""

from __future__ import annotations

import warnings

import torch

from duelgym._devices import resolve_device
from duelgym._validation import check_int, check_positive_finite
from duelgym.agents.base import ArrayLike
from duelgym.agents.reward_models._inputs import as_comparisons, as_features

__all__ = ["LaplaceRewardModel"]

_NEWTON_TOLERANCE = 1e-10
_MAX_NEWTON_STEPS = 100
#: Sufficient-decrease constant and the most step halvings of the line search.
_ARMIJO = 1e-4
_MAX_HALVINGS = 40


class LaplaceRewardModel:
    """Laplace-approximated posterior of a linear Bradley-Terry utility (see the module docstring).

    Args:
        input_dim: Feature size d.
        prior_precision: α > 0 of the Gaussian prior N(0, α⁻¹I).
        num_samples: M, the number of θ samples each :meth:`sample_utilities` call draws.
        seed: Seed of the θ samples (``None``: nondeterministic).
        device: Where results are returned (the fit itself runs on the CPU in float64).

    Attributes:
        mean: Posterior mean (MAP) μ, shape (d,).
        covariance: Σ, shape (d, d).
    """

    def __init__(
        self,
        input_dim: int,
        prior_precision: float = 1.0,
        num_samples: int = 100,
        seed: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.input_dim = check_int("input_dim", input_dim, minimum=1)
        self.prior_precision = check_positive_finite("prior_precision", prior_precision)
        self.num_particles = check_int("num_samples", num_samples, minimum=1)
        self.device = resolve_device(device)
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(check_int("seed", seed, minimum=0))
        self._differences = torch.zeros((0, self.input_dim), dtype=torch.float64)
        self._choices = torch.zeros(0, dtype=torch.float64)
        self.mean = torch.zeros(self.input_dim, dtype=torch.float64)
        self._precision_cholesky = torch.eye(self.input_dim, dtype=torch.float64) * self.prior_precision**0.5
        self.updates = 0

    @property
    def covariance(self) -> torch.Tensor:
        return torch.cholesky_inverse(self._precision_cholesky)

    def update(self, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike) -> dict[str, float]:
        """Add n comparisons and refit μ and Σ on all comparisons seen.

        Returns ``newton_steps``, ``gradient_norm`` (at the returned μ), ``newton_converged`` (1.0 or 0.0) and
        ``comparisons_seen``. Warns (``RuntimeWarning``) when Newton reaches its step limit (module docstring).
        """
        first, second, choices = as_comparisons(
            features_first, features_second, choices, self.input_dim, torch.device("cpu"), torch.float64
        )
        self._differences = torch.cat([self._differences, first - second])
        self._choices = torch.cat([self._choices, choices])
        x, c, theta = self._differences, self._choices, self.mean.clone()
        eye = torch.eye(self.input_dim, dtype=torch.float64)

        def gradient_and_hessian(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            p = torch.sigmoid(x @ theta)
            gradient = x.T @ (p - c) + self.prior_precision * theta
            return gradient, (x * (p * (1 - p))[:, None]).T @ x + self.prior_precision * eye

        self.updates += 1

        def objective(theta: torch.Tensor) -> torch.Tensor:  # negative log posterior, up to a constant
            logits = x @ theta
            penalty = 0.5 * self.prior_precision * theta @ theta
            return (torch.nn.functional.softplus(logits) - c * logits).sum() + penalty

        gradient, hessian = gradient_and_hessian(theta)
        steps, converged = 0, False
        while steps < _MAX_NEWTON_STEPS:
            step = torch.linalg.solve(hessian, gradient)
            # Backtracking (Armijo) line search: a full Newton step can overshoot where σ' is tiny and then cycle
            # without converging (seen on the vacdb instance after a pair was queried many times); near the optimum
            # the full step is accepted, so well-behaved fits are unchanged.
            current, size = objective(theta), 1.0
            decrease = _ARMIJO * float(gradient @ step)
            for _ in range(_MAX_HALVINGS):
                if objective(theta - size * step) <= current - size * decrease:
                    break
                size /= 2
            theta = theta - size * step
            steps += 1
            gradient, hessian = gradient_and_hessian(theta)
            if size * step.norm() < _NEWTON_TOLERANCE:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"LaplaceRewardModel update {self.updates} ({len(c)} comparisons): Newton's method did not converge "
                f"in {steps} steps (last step norm {step.norm().item():.3g}, tolerance {_NEWTON_TOLERANCE:g}; "
                f"gradient norm {gradient.norm().item():.3g}); keeping the last iterate as the posterior mean",
                RuntimeWarning,
                stacklevel=2,
            )
        self.mean = theta
        self._precision_cholesky = torch.linalg.cholesky(hessian)
        return {
            "newton_steps": float(steps),
            "gradient_norm": gradient.norm().item(),
            "newton_converged": float(converged),
            "comparisons_seen": float(len(c)),
        }

    def sample_theta(self, num_samples: int | None = None) -> torch.Tensor:
        """θ samples from N(μ, Σ), shape (M, d), float64 on the CPU."""
        m = self.num_particles if num_samples is None else check_int("num_samples", num_samples, minimum=1)
        z = torch.randn((self.input_dim, m), generator=self.generator, dtype=torch.float64)
        # Σ = (LLᵀ)⁻¹ = L⁻ᵀL⁻¹, so L⁻ᵀz has covariance Σ.
        deviation = torch.linalg.solve_triangular(self._precision_cholesky.T, z, upper=True)
        return self.mean + deviation.T

    def sample_utilities(self, features: ArrayLike) -> torch.Tensor:
        """Utilities θ_mᵀf under M fresh θ samples: features (..., d) -> (M, ...), float64."""
        f = as_features(features, self.input_dim, torch.device("cpu"), torch.float64)
        return (f @ self.sample_theta().T).movedim(-1, 0).to(self.device)

    def mean_utility(self, features: ArrayLike) -> torch.Tensor:
        """Posterior-mean utility μᵀf: features (..., d) -> (...), float64."""
        f = as_features(features, self.input_dim, torch.device("cpu"), torch.float64)
        return (f @ self.mean).to(self.device)
