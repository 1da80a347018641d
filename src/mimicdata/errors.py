"""The project's own error types: every message names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dataset.report import BuildReport


class MimicdataError(Exception):
    """Base of every error mimicdata raises on purpose."""


class SpecError(MimicdataError):
    """The YAML spec is malformed or names inputs that cannot be used."""


class InputError(MimicdataError):
    """A motion file cannot be read or does not hold what its type promises."""

    def __init__(self, path: str | Path, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}" + (f" [{field}]" if field else "")
        super().__init__(f"{where}: {problem}")


class RobotModelError(MimicdataError):
    """A robot description cannot be loaded or lacks what mimicdata needs."""


class BuildError(MimicdataError):
    """The build cannot go on (output in the way, nothing to build, ...)."""


class ShardError(MimicdataError):
    """A shard file is unreadable or breaks the shard schema."""


class StrictBuildError(BuildError):
    """A build that published nothing (--strict saw a rejection, or no clip survived); `report` lists every rejection."""

    def __init__(self, message: str, report: BuildReport) -> None:
        super().__init__(message)
        self.report = report
