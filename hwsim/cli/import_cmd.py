"""``hwsim import FILE -o MODEL.yaml``: an ONNX or TFLite model as an editable model YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hwsim.cli.options import check_output, write_atomically
from hwsim.cli.render import err


def import_cmd(
    file: Annotated[Path, typer.Argument(help=".onnx or .tflite file")],
    output: Annotated[Path, typer.Option("-o", "--output", help="model YAML to write")],
    name: Annotated[str | None, typer.Option("--name", help="model name (default: stem)")] = None,
) -> None:
    """Import an ONNX or TFLite model into an editable model YAML."""
    from hwsim.workload.importers import import_model, model_to_yaml

    check_output(output, "-o", (".yaml", ".yml"), "the output must be a .yaml file")
    model = import_model(file, name=name)
    text = model_to_yaml(model)
    write_atomically(output, lambda tmp: Path(tmp).write_text(text))
    err().print(f"wrote {output}: {len(model.ops)} ops, {model.macs:,} MACs")
