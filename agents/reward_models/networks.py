"""Stacked MLPs: M independent networks stored as (M, ...) tensors and evaluated in one batched computation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from duelgym._validation import check_int

__all__ = ["StackedMLP"]


class StackedMLP(nn.Module):
    """M independent MLPs d → h₁ → … → 1 with ReLU, as stacked weights (M, in, out) and biases (M, 1, out).

    ``forward`` evaluates all members with one batched matrix product per layer (``torch.baddbmm``): no Python
    loop over members. Each member is initialised like ``torch.nn.Linear`` (weights and biases uniform in
    ±1/√fan_in), independently, from ``generator``.

    Args:
        num_members: M ≥ 1.
        input_dim: d ≥ 1.
        hidden_sizes: Widths of the hidden layers; ``()`` gives linear members.
        generator: CPU generator for the initialisation.
        trainable: If False the weights are buffers: not parameters, never given gradients (frozen priors).
        device, dtype: Where and how the weights are stored.
    """

    def __init__(
        self,
        num_members: int,
        input_dim: int,
        hidden_sizes: Sequence[int],
        generator: torch.Generator,
        trainable: bool = True,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.num_members = check_int("num_members", num_members, minimum=1)
        self.input_dim = check_int("input_dim", input_dim, minimum=1)
        self.hidden_sizes = tuple(check_int("hidden_sizes[i]", h, minimum=1) for h in hidden_sizes)
        sizes = (self.input_dim, *self.hidden_sizes, 1)
        self.num_layers = len(sizes) - 1
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            bound = 1.0 / math.sqrt(fan_in)
            for name, shape in (("weight", (fan_in, fan_out)), ("bias", (1, fan_out))):
                value = (
                    torch.rand((self.num_members, *shape), generator=generator, dtype=torch.float64) * 2 - 1
                ) * bound
                value = value.to(device=device, dtype=dtype)
                if trainable:
                    self.register_parameter(f"{name}{layer}", nn.Parameter(value))
                else:
                    self.register_buffer(f"{name}{layer}", value)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[(weight (M, in, out), bias (M, 1, out)), ...]`` from input to output."""
        return [(getattr(self, f"weight{i}"), getattr(self, f"bias{i}")) for i in range(self.num_layers)]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features (..., d), shared by all members -> outputs (M, ...)."""
        lead = features.shape[:-1]
        hidden = features.reshape(1, -1, self.input_dim).expand(self.num_members, -1, -1)
        for layer, (weight, bias) in enumerate(self.layers()):
            hidden = torch.baddbmm(bias, hidden, weight)
            if layer < self.num_layers - 1:
                hidden = torch.relu(hidden)
        return hidden.reshape(self.num_members, *lead)

    def member(self, index: int) -> nn.Sequential:
        """A copy of member ``index`` as an ordinary ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``."""
        modules: list[nn.Module] = []
        for layer, (weight, bias) in enumerate(self.layers()):
            linear = nn.Linear(weight.shape[1], weight.shape[2], device=weight.device, dtype=weight.dtype)
            with torch.no_grad():
                linear.weight.copy_(weight[index].T)
                linear.bias.copy_(bias[index, 0])
            modules.append(linear)
            if layer < self.num_layers - 1:
                modules.append(nn.ReLU())
        return nn.Sequential(*modules)
