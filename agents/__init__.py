"""Exploration agents and reward models (installed as ``duelgym.agents``); filled in by the agents issues."""

__all__: list[str] = []
