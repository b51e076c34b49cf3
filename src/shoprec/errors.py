"""Exception hierarchy of shoprec.

::

    ShoprecError                      every error shoprec raises on purpose
    ├── ConfigError                   a setting or config file is invalid
    ├── DataError                     input data cannot be used
    │   ├── ValidationError           rows failed validation (names file, line, field)
    │   └── UnknownFormatError        a file's format could not be detected or is unsupported
    ├── StoreError                    the event/item store failed or is unusable
    │   └── BackendUnavailableError   a shared backend (PostgreSQL, Redis) cannot be reached
    ├── ModelError                    a model cannot do what was asked
    │   ├── NotFittedError            used before ``fit``/``load``
    │   ├── UnknownModelError         no model is registered under that key
    │   ├── ArtifactError             a saved model directory is missing, corrupt or incompatible
    │   └── LeakageError              a ranker's training targets were in its sources' data
    └── MissingDependencyError        an optional extra is not installed (names the extra)

The CLI and the HTTP layer map these to one-line messages / 4xx responses; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


class ShoprecError(Exception):
    """Base of every error shoprec raises on purpose."""


class ConfigError(ShoprecError):
    """A setting or configuration file is invalid."""


class DataError(ShoprecError):
    """Input data cannot be used."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.field is not None:
            where += f" [{self.field}]"
        return f"{where}: {self.message}"


class ValidationError(DataError):
    """Rows failed validation; ``problems`` lists each (file, line, field, message)."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = problems
        self.total = total if total is not None else len(problems)
        shown = "\n".join(f"  {p}" for p in problems)
        more = (
            f"\n  ... and {self.total - len(problems)} more" if self.total > len(problems) else ""
        )
        super().__init__(f"{self.total} invalid row(s); nothing was imported:\n{shown}{more}")


class UnknownFormatError(DataError):
    """A file's format could not be detected or is not supported."""


class StoreError(ShoprecError):
    """The event or item store failed or is unusable."""


class BackendUnavailableError(StoreError):
    """A shared backend (PostgreSQL, Redis) cannot be reached now; retrying later may succeed."""


class ModelError(ShoprecError):
    """A model cannot do what was asked."""


class NotFittedError(ModelError):
    """A model was used before ``fit`` or ``load``."""


class UnknownModelError(ModelError):
    """No model is registered under the requested key."""


class ArtifactError(ModelError):
    """A saved model directory is missing, corrupt or of an incompatible schema version."""


class LeakageError(ModelError):
    """A learned ranker would train on targets its candidate sources were fit on.

    Raised by the ranking stage's leakage guard: the sources must be fit on the events before
    the targets, or the ranker learns to trust scores that already know the answer. A bug in
    how the training set was built, never a property of the data, so it is not a ConfigError
    (which the benchmark reports as "skipped" instead of failing).
    """


class MissingDependencyError(ShoprecError):
    """An optional dependency is missing; the message names the extra that provides it."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is required for this feature: pip install 'shoprec[{extra}]'")
        self.package = package
        self.extra = extra
