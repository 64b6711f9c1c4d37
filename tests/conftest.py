"""Test-wide settings: no hub access, hypothesis profile, and the gpu marker's skip."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from hypothesis import settings

# 200 examples per property in the default run, as the foundation issue asks; no deadline because the first
# example of a run pays for imports and caches.
settings.register_profile("duelgym", max_examples=200, deadline=None)
settings.load_profile("duelgym")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
