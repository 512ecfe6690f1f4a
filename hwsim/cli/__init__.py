"""The ``hwsim`` command line: a thin layer over the Python API, one module per command.

Shared flag parsing lives in :mod:`hwsim.cli.options`, everything printed as a table or a
number with a unit in :mod:`hwsim.cli.render`. Every user-facing error becomes a message on
stderr and exit status 2, never a traceback. Command modules import what they compute with
inside the command, so ``hwsim --help`` and ``hwsim simulate --json`` start fast.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

import typer

from hwsim.errors import HwsimError

__all__ = ["app", "main", "run"]

HELP = ("hwsim: simulate sparse-activation neural networks on accelerator, GPU and "
        "microcontroller models.")
# Command name -> (module, attribute). The order here is the order of `hwsim --help` (typer
# lists plain commands in this order, groups such as `study` after them).
COMMANDS: dict[str, tuple[str, str]] = {
    "study": ("hwsim.cli.study_cmd", "study_app"),
    "claims": ("hwsim.cli.claims_cmd", "claims_cmd"),
    "accuracy": ("hwsim.cli.accuracy_cmd", "accuracy_cmd"),
    "sensitivity": ("hwsim.cli.sensitivity_cmd", "sensitivity_cmd"),
    "list": ("hwsim.cli.list_cmd", "list_cmd"),
    "schema": ("hwsim.cli.schema_cmd", "schema_cmd"),
    "glossary": ("hwsim.cli.glossary_cmd", "glossary_cmd"),
    "simulate": ("hwsim.cli.simulate_cmd", "simulate_cmd"),
    "serve": ("hwsim.cli.serve_cmd", "serve_cmd"),
    "validate": ("hwsim.cli.validate_cmd", "validate_cmd"),
    "import": ("hwsim.cli.import_cmd", "import_cmd"),
    "capture": ("hwsim.cli.capture_cmd", "capture_cmd"),
    "demo": ("hwsim.cli.demo_cmd", "demo_cmd"),
    "app": ("hwsim.cli.app_cmd", "app_cmd"),
}


@cache
def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with just ``only``: `hwsim simulate ...` then neither
    imports nor converts the other commands for click (a start-up cost of ~30 ms)."""
    cli = typer.Typer(add_completion=False, no_args_is_help=True,
                      pretty_exceptions_enable=False, help=HELP)
    # The group's own options (`hwsim --version`); it also keeps a group with one command, so
    # `hwsim NAME ...` parses as with all of them.
    cli.callback(help=HELP)(_root)
    for name, (module, attr) in COMMANDS.items():
        if only is not None and name != only:
            continue
        command = getattr(importlib.import_module(module), attr)
        if isinstance(command, typer.Typer):
            cli.add_typer(command, name=name)
        else:
            cli.command(name)(command)
    return cli


def _print_version(value: bool) -> None:
    if value:
        from hwsim import __version__

        typer.echo(f"hwsim {__version__}")
        raise typer.Exit()


def _root(version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version,
        help="Print hwsim's version and exit.")) -> None:
    """The group's callback: `hwsim` itself takes only --version before the command name."""


def __getattr__(name: str) -> Any:
    if name == "app":  # the full CLI, built on first use (`from hwsim.cli import app`)
        return build_app()
    raise AttributeError(f"module 'hwsim.cli' has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, mapping errors to exit status 2 without a traceback."""
    from hwsim.cli.render import err

    args = sys.argv[1:] if argv is None else list(argv)
    cli = build_app(args[0] if args and args[0] in COMMANDS else None)
    try:
        cli(args=args, standalone_mode=False, prog_name="hwsim")
    except HwsimError as exc:
        err().print(exc.render(), markup=False, highlight=False)
        return 2
    except Exception as exc:
        return _exit_status(exc)
    return 0


def _exit_status(exc: Exception) -> int:
    """Exit status of typer's (and, if a command used it, click's) own exceptions; anything
    else is a bug and propagates with its traceback."""
    from hwsim.cli.render import err

    # typer bundles its own click; plain click is only checked when something imported it,
    # so the start does not pay for importing it.
    click = sys.modules.get("click")
    exit_types: tuple[type, ...] = (typer.Exit,)
    abort_types: tuple[type, ...] = (typer.Abort,)
    usage_types: tuple[type, ...] = (typer.TyperException,)
    if click is not None:
        exit_types += (click.exceptions.Exit,)
        abort_types += (click.exceptions.Abort,)
        usage_types += (click.ClickException,)
    if isinstance(exc, exit_types):
        return exc.exit_code  # type: ignore[attr-defined,no-any-return]
    if isinstance(exc, abort_types):
        err().print("aborted")
        return 130
    if isinstance(exc, usage_types):  # unknown flag, missing value
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    raise exc


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
