"""What several commands share: option types, parsing of flag values, and their clean errors.

A bad flag value raises :class:`hwsim.errors.HwsimError`; :func:`hwsim.cli.main` turns it into
a message on stderr and exit status 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from hwsim.errors import HwsimError, input_error

PHASES = ("prefill", "decode")
MODES = ("inference", "training")

AsJson = Annotated[bool, typer.Option("--json", help="print the JSON document")]
Seq = Annotated[int | None, typer.Option("--seq", min=1, help="sequence length, tokens")]
Phase = Annotated[str | None, typer.Option("--phase", help="prefill | decode")]
AccuracyCurve = Annotated[Path | None, typer.Option(
    "--accuracy-curve", help="CSV with columns density and one metric (overrides the "
    "model's own accuracy source)")]
StoreDir = Annotated[Path, typer.Option("--store-dir", help="folder of the study stores")]
# Many devices (hwsim.parallel): degrees of tensor, pipeline and expert parallelism.
Tp = Annotated[int | None, typer.Option("--tp", help="tensor-parallel degree (shards heads "
                                        "and FFN GEMMs; an all-reduce after attention and FFN)")]
Pp = Annotated[int | None, typer.Option("--pp", help="pipeline-parallel stages (layers split, "
                                        "micro-batches, a bubble)")]
Ep = Annotated[int | None, typer.Option("--ep", help="expert-parallel degree (MoE experts "
                                        "spread, all-to-all dispatch and combine)")]
Devices = Annotated[int | None, typer.Option("--devices", help="devices in all (= tp*pp*ep; "
                                             "alone it means --tp DEVICES)")]
Microbatches = Annotated[int | None, typer.Option("--microbatches", help="pipeline "
                                                  "micro-batches (default min(batch, pp))")]


def parallel_option(tp: int | None, pp: int | None, ep: int | None,
                    microbatches: int | None = None) -> dict[str, int] | None:
    """The ``parallel`` mapping of ``--tp/--pp/--ep/--microbatches`` (None when none given);
    the values are checked by :func:`hwsim.parallel.parse_parallel`, naming the flag."""
    given = {"tp": tp, "pp": pp, "ep": ep, "microbatches": microbatches}
    chosen = {k: v for k, v in given.items() if v is not None}
    return chosen or None


def choice_error(field: str, given: str, options: tuple[str, ...]) -> HwsimError:
    """``given`` is not one of ``options``: name them, and suggest the closest."""
    import difflib

    close = difflib.get_close_matches(given, options, n=2, cutoff=0.5)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else (
        "choose one of: " + ", ".join(options))
    return input_error(field, f"unknown value, expected one of: {', '.join(options)}",
                       given=given, hint=hint)


def check_choice(field: str, given: str | None, options: tuple[str, ...]) -> None:
    if given is not None and given not in options:
        raise choice_error(field, given, options)


def ints(text: str, flag: str, lo: int, hi: int) -> list[int]:
    """``"128,512,256"`` -> [128, 512, 256]: between ``lo`` and ``hi`` whole numbers >= 1."""
    parts = [p.strip() for p in text.split(",")]
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise input_error(flag, "expected comma-separated whole numbers", given=text) from None
    if not lo <= len(vals) <= hi:
        want = str(lo) if lo == hi else f"{lo} or {hi}"
        raise input_error(flag, f"expected {want} numbers, got {len(vals)}", given=text)
    if any(v < 1 for v in vals):
        raise input_error(flag, "every number must be >= 1", given=text)
    return vals


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set a.b=1`` items -> {"a.b": 1}; values are read as YAML scalars."""
    from hwsim.config.loading import parse_override_value

    overrides: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise input_error("--set", "expected PATH=VALUE", given=item,
                              hint="e.g. --set array.rows=32 --set dataflow=ws")
        path, value = item.split("=", 1)
        overrides[path.strip()] = parse_override_value(value.strip())
    return overrides


def workload(model: str | None, gemm: str | None, conv: str | None, seq: int | None,
             phase: str | None, mode: str = "inference") -> Any:
    """The one workload given by ``--model``, ``--gemm`` or ``--conv``."""
    import hwsim

    given = [x for x in (model, gemm, conv) if x is not None]
    if len(given) != 1:
        raise input_error("command line", "give exactly one of --model, --gemm, --conv",
                          hint="e.g. --gemm 512,768,768 or --model gpt2-small")
    check_choice("--phase", phase, PHASES)
    check_choice("--mode", mode, MODES)
    if model is not None:
        return hwsim.load_model(model, seq=seq, phase=phase, mode=mode)
    if mode == "training":
        raise input_error("command line", "--mode training applies to --model only")
    if seq is not None or phase is not None:
        raise input_error("command line", "--seq/--phase apply to --model only")
    if gemm is not None:
        m, n, k = ints(gemm, "--gemm", 3, 3)
        return hwsim.gemm(m, n, k)
    vals = ints(conv or "", "--conv", 6, 7)
    h, w, c, kk, r, s = vals[:6]
    return hwsim.conv2d(h, w, c, kk, r, s, stride=vals[6] if len(vals) == 7 else 1)


def check_output(path: Path, field: str, suffixes: tuple[str, ...], what: str,
                 hint: str | None = None) -> None:
    """An output file name: a known suffix, in a folder that exists."""
    if path.suffix.lower() not in suffixes:
        raise input_error(str(path), what, field=field, hint=hint)
    if not path.parent.exists():
        raise input_error(str(path), "output folder does not exist", field=field)


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` into a temp file in the same folder, then rename: never a half file."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
