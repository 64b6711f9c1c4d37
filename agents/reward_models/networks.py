"""Stacked MLPs: M independent networks stored as (M, ...) tensors and evaluated in one batched computation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from duelgym._validation import check_int

__all__ = ["StackedMLP"]

#: Rows a CPU forward pass takes at a time: scoring the main job's 300 × 64 eval candidates with the default ENN
#: (10 particles plus 10 priors, widths 64) took 0.16 s in one pass and 0.053 / 0.063 / 0.062 s in chunks of 512 /
#: 1,024 / 2,048 rows (one thread; identical outputs), because the (M, rows, width) activations then fit in cache.
CPU_CHUNK_ROWS = 1024


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
        """Features (..., d), shared by all members -> outputs (M, ...).

        On CPU, inputs of more than :data:`CPU_CHUNK_ROWS` rows run in chunks of that many rows (the same numbers,
        a third of the time: the activations stay in cache; a GPU takes them whole)."""
        lead = features.shape[:-1]
        rows = features.reshape(-1, self.input_dim)
        if rows.device.type != "cpu" or rows.shape[0] <= CPU_CHUNK_ROWS:
            return self._rows(rows).reshape(self.num_members, *lead)
        chunks = [self._rows(chunk) for chunk in rows.split(CPU_CHUNK_ROWS)]
        return torch.cat(chunks, dim=1).reshape(self.num_members, *lead)

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows (n, d) -> outputs (M, n, 1)."""
        hidden = rows.unsqueeze(0).expand(self.num_members, -1, -1)
        for layer, (weight, bias) in enumerate(self.layers()):
            hidden = torch.baddbmm(bias, hidden, weight)
            if layer < self.num_layers - 1:
                hidden = hidden.relu_()  # in place: baddbmm's backward does not need its output
        return hidden

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
