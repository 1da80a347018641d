"""The orchestrator: discovery, the per-clip pipeline, the dataset build and its cache."""

from __future__ import annotations

from typing import Any

__all__ = ["BuildOptions", "build_dataset"]


def __getattr__(name: str) -> Any:
    # The whole build is imported only by whoever builds: ingest-motion needs the per-clip pipeline alone.
    if name in __all__:
        from . import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
