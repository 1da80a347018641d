"""Human skeleton motion -> robot motion."""

from .formats import BvhFormat, RetargetConfig, format_names, load_format, load_retarget_config

__all__ = [
    "BvhFormat",
    "RetargetConfig",
    "Retargeted",
    "format_names",
    "load_format",
    "load_retarget_config",
    "retarget_config",
    "retarget_skeleton",
]


def __getattr__(name: str):
    # The pipeline pulls in scipy; clip workers that only read robot motions never need it.
    if name in ("Retargeted", "retarget_skeleton"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "retarget_config":
        from .draft import retarget_config

        return retarget_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
