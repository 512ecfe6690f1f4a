"""Checks a serving study passes before its first point (exit 2 naming the field): the
serving block's lengths, decoder workloads, and each swept parallel degree against the model
(hwsim.parallel's own rules: tp dividing the heads, ep the experts, pp at most the layers)."""

from __future__ import annotations

from typing import Any

from hwsim.errors import HwsimError, input_error


def check_serving(study_doc: Any, decode_models: dict[str, Any]) -> None:
    """Check the serving block's length specs and every swept parallel value before the first
    point (exit 2 naming the field): lengths parse, each workload (``decode_models``: preset
    -> its decode-shaped model) is a decoder, each parallel degree fits the model."""
    from hwsim.serving.lengths import parse_lengths
    from hwsim.serving.tokens import is_decoder

    s = study_doc.serving
    parse_lengths(s.prompt_tokens, "serving.prompt_tokens")
    parse_lengths(s.output_tokens, "serving.output_tokens")
    swept = [p for p in study_doc.space if p.path.startswith("parallel.")]
    for i, w in enumerate(study_doc.workloads):
        model = decode_models[w.model]
        if not is_decoder(model):
            raise input_error(f"workloads[{i}].model", f"{w.model} is not a decoder model "
                              "(attention and an lm_head): a serving study serves decoders",
                              given=w.model)
        for p in swept:  # each degree alone, as chip fields are probed value by value
            for value in p.grid_values() if p.values is not None else [p.low, p.high]:
                check_degree(model, p.path, value)


def check_degree(model: Any, path: str, value: Any) -> None:
    """One parallel degree against the model (tp dividing the heads, ep the experts, pp at
    most the layers): hwsim.parallel's own checks, errors naming the path and value."""
    from hwsim.parallel import parse_parallel
    from hwsim.parallel.shard import check_spec

    name = path.split(".", 1)[1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        check_spec(model, parse_parallel({name: value}))
    except HwsimError as exc:
        first = exc.problems[0] if exc.problems else None
        raise input_error(path, first.message if first else exc.summary, given=value,
                          hint=first.hint if first else None) from None


def system_base(study_doc: Any, name: str) -> tuple[str, str]:
    """(chip kind, content hash) of a system preset used as a serving study's base: its
    devices share the system's chip, so chip fields cannot be swept on it."""
    from hwsim.config.loading import read_yaml_file
    from hwsim.hardware.chips import load_chip
    from hwsim.parallel import load_system
    from hwsim.presets import resolve
    from hwsim.workload.model import content_hash

    system = load_system(name)
    for p in study_doc.space:
        if not any(x.startswith(("parallel.", "serving.")) for x in p.paths) and (
                p.chips is None or name in p.chips):
            raise input_error(p.path, f"{name} is a system preset: its chip fields are not "
                              "swept", hint=f"sweep them on its chip ({system.chip}) or limit "
                              "the parameter with 'chips:'")
    return load_chip(system.chip).kind, content_hash(read_yaml_file(resolve("systems", name)))
