"""Reading a spec file: YAML, validation, and messages that name the file and the field path."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import SpecError
from .models import SOURCE_MODELS, AnySource, DatasetSpec, SourceSpec, source_types_with_field

MODEL_SUFFIXES = (".urdf", ".xml", ".mjcf", ".yaml", ".yml")


def _suggest(key: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model an error location points into (sources resolve to their type's model)."""
    current: Any = DatasetSpec
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            continue
        if part == "sources" and parts and isinstance(parts[0], int):
            parts.pop(0)
            tag = parts.pop(0) if parts and parts[0] in SOURCE_MODELS else None
            if tag is None:
                return None
            current = SOURCE_MODELS[tag]
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        for candidate in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
        else:
            return None
    return current


def _field_path(loc: tuple) -> str:
    out = ""
    parts = list(loc)
    for i, part in enumerate(parts):
        if part in SOURCE_MODELS and i > 0 and isinstance(parts[i - 1], int):
            continue  # the discriminator tag pydantic puts into the location
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _message(err: Any, loc: tuple) -> str:
    model = _model_at(loc)
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        allowed = list(model.model_fields) if model is not None else []
        elsewhere = source_types_with_field(key) if "sources" in loc else []
        source_type = next((p for p in loc if p in SOURCE_MODELS), None)
        if elsewhere and source_type:
            return (f"{key!r} does not apply to {source_type} sources (it is an option of "
                    f"{', '.join(elsewhere)} sources); {source_type} sources take: {', '.join(allowed)}")
        return f"unknown key {key!r}{_suggest(key, allowed)}; allowed keys: {', '.join(allowed)}"
    if err["type"] == "missing":
        field = model.model_fields.get(str(loc[-1])) if model is not None else None
        why = f" ({field.description})" if field is not None and field.description else ""
        return f"required field is missing{why}"
    if err["type"] == "union_tag_invalid":
        return f"unknown source type {err['input'].get('type')!r}; source types are {', '.join(SOURCE_MODELS)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


def validation_problems(exc: ValidationError) -> list[str]:
    """One `field.path: message` line per problem."""
    errors = exc.errors()
    located = [tuple(p for p in e["loc"] if p not in ("function-after",)) for e in errors]
    lines = []
    for err, loc in zip(errors, located):
        if err["type"] == "too_short" and loc == ("sources",) and any(len(other) > 1 for other in located):
            continue  # pydantic's echo of sources that failed above
        where = loc + ("type",) if err["type"] == "union_tag_invalid" else loc
        lines.append(f"{_field_path(where)}: {_message(err, loc)}")
    return lines


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = validation_problems(exc)
    return "\n".join([f"{path}: invalid dataset spec ({len(lines)} problem{'s' * (len(lines) > 1)})"]
                     + [f"  {line}" for line in lines])


def load_spec(path: str | Path) -> DatasetSpec:
    """Read, validate and resolve a spec; relative paths are taken from the spec's directory."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read spec: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: YAML syntax error at {where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of spec fields at top level, got {type(raw).__name__}")
    try:
        spec = DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(path, exc)) from None
    return resolve_paths(spec, path.resolve().parent)


def _absolute(p: Path, base: Path) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def resolve_source_paths(source: SourceSpec, base: Path) -> SourceSpec:
    """Input, metadata and skeleton-format paths of a source, made absolute from `base`."""
    update: dict[str, Any] = {"input": _absolute(source.input, base)}
    metadata = getattr(source, "metadata_csv", None)
    if metadata is not None:
        update["metadata_csv"] = _absolute(metadata, base)
    fmt = source.format_file()
    if fmt is not None:
        update["bvh_format"] = str(_absolute(fmt, base))
    return source.model_copy(update=update)


def resolve_paths(spec: DatasetSpec, base: Path) -> DatasetSpec:
    sources = tuple(resolve_source_paths(s, base) for s in spec.sources)
    robot = spec.robot
    if robot.endswith(MODEL_SUFFIXES):
        robot = str(_absolute(Path(robot), base))
    return spec.model_copy(update={"sources": sources, "robot": robot})


_SOURCE: TypeAdapter[SourceSpec] = TypeAdapter(AnySource)


def source_spec(**fields: Any) -> SourceSpec:
    """A source from keyword fields (None means unset), e.g. from command-line options; paths from the cwd."""
    given = {k: v for k, v in fields.items() if v is not None}
    try:
        spec: SourceSpec = _SOURCE.validate_python(given)
    except ValidationError as exc:
        raise SpecError(f"invalid source options: {'; '.join(validation_problems(exc))}") from None
    spec = resolve_source_paths(spec, Path.cwd())
    if not spec.input.exists():
        raise SpecError(f"input {spec.input} does not exist")
    return spec
