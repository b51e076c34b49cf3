"""The Typer application, shared console, settings loading and the error boundary of the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shoprec.errors import ConfigError, ShoprecError
from shoprec.models import ProgressUpdate
from shoprec.settings import Settings, load_settings

app = typer.Typer(
    name="shoprec",
    help="Real-time personalized recommendations for e-commerce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Generate, import and inspect data.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
users_app = typer.Typer(
    help="Forget a shopper (an erasure request), or accept their events again.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: ./shoprec.toml if present)."),
]


def settings_from(config: Path | None) -> Settings:
    """Load settings for a command (file + ``SHOPREC_*`` environment)."""
    return load_settings(config)


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields ``advance(n)``. Goes to stderr so stdout stays parseable."""
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance


@contextmanager
def fit_progress(description: str) -> Iterator[ProgressUpdate]:
    """A rich bar for one long step of a fit, on stderr: ``FitOptions(progress=fit_progress)``."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(done: int, total: int, info: str) -> None:
            bar.update(task, completed=done, total=total, info=info)

        yield update


def main() -> None:
    """Console-script entry point: user mistakes become one red line and exit code 1."""
    try:
        app()
    except ShoprecError as exc:
        # Escaped: messages may hold brackets (gloo's "[pair.cc:537]") that rich would parse.
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]")
        raise SystemExit(130) from None


ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Model hyperparameter as NAME=VALUE (JSON value, else text); repeatable.",
    ),
]


def parse_params(pairs: list[str] | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``["l2=500", "item_repr=id"]`` -> ``{"l2": 500, "item_repr": "id"}`` over ``base``."""
    params = dict(base or {})
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        params[name] = _param_value(text)
    return params


def _param_value(text: str) -> Any:
    """A ``--param`` value: JSON when it parses (numbers, booleans, lists), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_model_params(pairs: list[str] | None, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Per-model ``--param`` values: ``MODEL.NAME=VALUE`` for one model, ``NAME=VALUE`` for all.

    ``["sasrec.hidden=128", "ease.l2=500"]`` -> ``{"sasrec": {"hidden": 128}, "ease": {"l2":
    500}}``; a plain ``NAME=VALUE`` goes to every key in ``keys``. Only the models named (all of
    them, with a plain pair) get an entry. Values are read as in :func:`parse_params`.

    Raises:
        ConfigError: For a pair without ``=`` or a ``MODEL.`` prefix that is not in ``keys``.
    """
    per_model: dict[str, dict[str, Any]] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        model, dot, field = name.partition(".")
        if not sep or not name or (dot and not field):
            raise ConfigError(f"--param {pair!r}: expected MODEL.NAME=VALUE or NAME=VALUE")
        if dot and model not in keys:
            raise ConfigError(
                f"--param {pair!r}: {model!r} is not one of the models ({', '.join(keys)})"
            )
        for key in [model] if dot else keys:
            per_model.setdefault(key, {})[field if dot else name] = _param_value(text)
    return per_model
