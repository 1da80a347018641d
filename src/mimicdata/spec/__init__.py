"""The YAML dataset spec: pydantic models, and loading with errors that name the file and the field."""

from .load import format_validation_error, load_spec, resolve_paths, source_spec
from .models import (
    SOURCE_MODELS,
    SOURCE_TYPES,
    DatasetSpec,
    PreprocessSpec,
    SourceBase,
    SourceSpec,
    SplitSpec,
)

__all__ = [
    "SOURCE_MODELS",
    "SOURCE_TYPES",
    "DatasetSpec",
    "PreprocessSpec",
    "SourceBase",
    "SourceSpec",
    "SplitSpec",
    "format_validation_error",
    "load_spec",
    "resolve_paths",
    "source_spec",
]
