"""Loading models: preset or YAML file -> Model, with builder overrides (seq, phase)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hwsim.config.loading import apply_overrides, read_yaml_file, validate
from hwsim.errors import input_error
from hwsim.presets import resolve
from hwsim.workload.builders import build
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import Conv2dOp, MatmulOp, OpBase

IMPORTABLE = (".onnx", ".tflite")


def load_model(name_or_path: str | Path | Model, *, seq: int | None = None,
               phase: str | None = None, overrides: Mapping[str, Any] | None = None,
               mode: str = "inference") -> Model:
    """Load a model preset (``hwsim list models``), a YAML file, or an .onnx/.tflite file.

    ``seq`` (tokens) and ``phase`` ("prefill" | "decode") set the builder's sequence length and
    phase; ``overrides`` sets any field by dotted path (``{"builder.layers": 2}``);
    ``mode="training"`` expands the model into a training step (forward, backward, optimizer).
    """
    if mode not in ("inference", "training"):
        raise input_error("mode", "unknown mode", given=mode,
                          hint="use 'inference' or 'training'")
    model = _load(name_or_path, seq, phase, overrides)
    if mode == "training":
        from hwsim.workload.training import training_step

        return training_step(model)
    return model


def _load(name_or_path: str | Path | Model, seq: int | None, phase: str | None,
          overrides: Mapping[str, Any] | None) -> Model:
    if isinstance(name_or_path, Model):
        if seq is not None or phase is not None or overrides:
            raise input_error(name_or_path.name, "seq/phase/overrides need a preset or file, "
                              "not an already built Model")
        return name_or_path
    if Path(str(name_or_path)).suffix.lower() in IMPORTABLE:
        if seq is not None or phase is not None or overrides:
            raise input_error(str(name_or_path), "seq/phase/overrides apply to YAML models; "
                              "import the file first (hwsim import FILE -o model.yaml)")
        from hwsim.workload.importers import import_model

        return import_model(name_or_path)
    path = resolve("models", name_or_path)
    source = str(path)
    doc = read_yaml_file(path)
    extra: dict[str, Any] = dict(overrides or {})
    if seq is not None:
        extra["builder.seq"] = seq
    if phase is not None:
        extra["builder.phase"] = phase
    if extra:
        if "builder" not in doc and any(k.startswith("builder.") for k in extra):
            raise input_error(source, "seq/phase apply to models built from a 'builder'; this "
                              "model is an explicit op list", field="builder")
        doc = apply_overrides(doc, extra, source)
        source += " (with " + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
    return model_from_doc(doc, source)


def model_from_doc(doc: Mapping[str, Any], source: str) -> Model:
    # Here, not at import: a single GEMM or conv never needs the model schema.
    from hwsim.config.model import ModelDoc

    parsed: ModelDoc = validate(doc, ModelDoc, source)
    ops: list[OpBase]
    ops = build(parsed.builder) if parsed.builder is not None else list(parsed.ops or [])
    return Model(name=parsed.name, ops=tuple(ops), source=parsed.source,
                 description=parsed.description, origin=source,
                 content_hash=content_hash(parsed.model_dump(mode="json")),
                 accuracy=parsed.accuracy)


def gemm(m: int, n: int, k: int, *, dtype: str = "int8", name: str = "gemm") -> Model:
    """A one-op model: out[M,N] = A[M,K] @ B[K,N] (the CLI's ``--gemm M,N,K``)."""
    op = _checked(lambda: MatmulOp(name=name, m=m, n=n, k=k, dtype=dtype), "--gemm")
    return _single(op, f"gemm {m}x{n}x{k}")


def conv2d(h: int, w: int, c: int, k: int, r: int, s: int, *, stride: int = 1,
           padding: int = 0, groups: int = 1, dtype: str = "int8", name: str = "conv") -> Model:
    """A one-op model: HxWxC input, K filters of RxS (the CLI's ``--conv H,W,C,K,R,S[,stride]``)."""
    op = _checked(lambda: Conv2dOp(name=name, h=h, w=w, c=c, k=k, r=r, s=s, stride=stride,
                                   padding=padding, groups=groups, dtype=dtype), "--conv")
    return _single(op, f"conv {h}x{w}x{c} k{k} {r}x{s}/{stride}")


def _checked(make: Any, source: str) -> OpBase:
    from pydantic import ValidationError

    from hwsim.config.loading import problems_from
    from hwsim.errors import HwsimError

    try:
        return make()
    except ValidationError as exc:
        raise HwsimError(source, problems_from(exc, OpBase), summary="invalid shape") from None


def _single(op: OpBase, label: str) -> Model:
    return Model(name=label, ops=(op,), source="command-line shape", origin="shortcut",
                 content_hash=content_hash(op.model_dump(mode="json")))
