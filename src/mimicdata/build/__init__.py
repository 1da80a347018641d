"""The orchestrator: discovery, the per-clip pipeline, the dataset build and its cache."""

from .dataset import BuildOptions, build_dataset

__all__ = ["BuildOptions", "build_dataset"]
