"""Human skeleton motion -> robot motion."""

from .formats import BvhFormat, RetargetConfig, format_names, load_format, load_retarget_config
from .pipeline import Retargeted, retarget_skeleton

__all__ = [
    "BvhFormat",
    "RetargetConfig",
    "Retargeted",
    "format_names",
    "load_format",
    "load_retarget_config",
    "retarget_skeleton",
]
