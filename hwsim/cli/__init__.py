"""The ``hwsim`` command line: a thin layer over the Python API, one module per command.

Shared flag parsing lives in :mod:`hwsim.cli.options`, everything printed as a table or a
number with a unit in :mod:`hwsim.cli.render`. Every user-facing error becomes a message on
stderr and exit status 2, never a traceback. Command modules import what they compute with
inside the command, so ``hwsim --help`` and ``hwsim simulate --json`` start fast.
"""

from __future__ import annotations

import sys

import typer

from hwsim.cli.accuracy_cmd import accuracy_cmd
from hwsim.cli.claims_cmd import claims_cmd
from hwsim.cli.demo_cmd import demo_cmd
from hwsim.cli.glossary_cmd import glossary_cmd
from hwsim.cli.import_cmd import import_cmd
from hwsim.cli.list_cmd import list_cmd
from hwsim.cli.schema_cmd import schema_cmd
from hwsim.cli.serve_cmd import serve_cmd
from hwsim.cli.simulate_cmd import simulate_cmd
from hwsim.cli.study_cmd import study_app
from hwsim.cli.validate_cmd import validate_cmd
from hwsim.errors import HwsimError

__all__ = ["app", "main", "run"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="hwsim: simulate sparse-activation neural networks on accelerator, GPU "
                       "and microcontroller models.")
app.add_typer(study_app, name="study")
# The order here is the order of `hwsim --help`.
app.command("claims")(claims_cmd)
app.command("accuracy")(accuracy_cmd)
app.command("list")(list_cmd)
app.command("schema")(schema_cmd)
app.command("glossary")(glossary_cmd)
app.command("simulate")(simulate_cmd)
app.command("serve")(serve_cmd)
app.command("validate")(validate_cmd)
app.command("import")(import_cmd)
app.command("demo")(demo_cmd)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, mapping errors to exit status 2 without a traceback."""
    from hwsim.cli.render import err

    try:
        app(args=argv, standalone_mode=False, prog_name="hwsim")
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
