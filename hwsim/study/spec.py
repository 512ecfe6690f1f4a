"""A loaded study: the validated document plus what running it needs (base chips resolved and
checked, workload variants expanded, content hashes of every input)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwsim.config.loading import read_yaml_file, validate
from hwsim.config.study import StudyDoc
from hwsim.config.study_serving import is_run_param
from hwsim.errors import HwsimError, Problem
from hwsim.presets import resolve
from hwsim.workload.model import content_hash


@dataclass(frozen=True)
class Variant:
    """One workload variant: model x batch x seq x sparsity setting."""

    workload: int  # index in StudyDoc.workloads
    model: str
    batch: int
    seq: int | None
    phase: str | None
    sparsity: tuple[str, ...]  # OPGLOB:KIND:k=v specs applied together; () = as defined

    @property
    def sparsity_label(self) -> str:
        return "; ".join(self.sparsity) if self.sparsity else "as defined"


@dataclass(frozen=True)
class Study:
    """A validated study, ready to run (see :func:`load_study`)."""

    doc: StudyDoc
    source: str
    chip_hashes: dict[str, str]  # base chip as written -> content hash of its document
    chip_kinds: dict[str, str]
    model_hashes: dict[tuple[str, int | None, str | None], str]
    variants: tuple[Variant, ...]

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def doc_hash(self) -> str:
        return content_hash(self.doc.model_dump(mode="json"))

    def params_for(self, chip: str) -> list[Any]:
        return [p for p in self.doc.space if p.chips is None or chip in p.chips]

    def to_json(self) -> str:
        return json.dumps(self.doc.model_dump(mode="json"), sort_keys=True)


def load_study(name_or_path: str | Path) -> Study:
    """Load a study preset (``hwsim list studies``) or YAML file, validated (exit 2 on error)."""
    path = resolve("studies", name_or_path)
    return study_from_doc(read_yaml_file(path), str(path))


def study_from_doc(doc: dict[str, Any], source: str = "study document") -> Study:
    """Validate an in-memory study document (the app builds these) and check every chip,
    parameter and model it names, so a bad study fails before its first point."""
    parsed: StudyDoc = validate(doc, StudyDoc, source)
    from hwsim.hardware.chips import load_chip

    chip_hashes: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for i, name in enumerate(parsed.chips):
        if parsed.serving is not None and _is_system(name):  # dgx-h100 & co: serving only
            from hwsim.study.serving_check import system_base

            kinds[name], chip_hashes[name] = _checked(source, f"chips[{i}]",
                                                      lambda n=name: system_base(parsed, n))
            continue
        chip = _checked(source, f"chips[{i}]", lambda n=name: load_chip(n))
        chip_hashes[name] = chip_document_hash(name)
        kinds[name] = chip.kind
        for p in parsed.space:
            if (p.chips is not None and name not in p.chips) or is_run_param(p.path):
                continue
            # Every value of a choice list, and both ends of a range, must give a valid chip.
            probe = p.grid_values() if p.values is not None else [
                round(v) if p.is_integer else v for v in (p.low, p.high)]
            for v in probe:
                _checked(source, f"space[{p.path}]",
                         lambda v=v, p=p, n=name: load_chip(n, dict.fromkeys(p.paths, v)))
    model_hashes: dict[tuple[str, int | None, str | None], str] = {}
    variants: list[Variant] = []
    for wi, w in enumerate(parsed.workloads):
        for seq in w.seq or [None]:
            m = _checked(source, f"workloads[{wi}].model",
                         lambda w=w, seq=seq: cached_model(w.model, seq, w.phase))
            model_hashes[(w.model, seq, w.phase)] = m.content_hash
            settings = [tuple([s] if isinstance(s, str) else s) for s in w.sparsity] or [()]
            for si, specs in enumerate(settings):
                if specs:
                    from hwsim.sparsity.overrides import apply_sparsity

                    _checked(source, f"workloads[{wi}].sparsity[{si}]",
                             lambda m=m, specs=specs: apply_sparsity(m, list(specs)))
                for b in w.batch:
                    variants.append(Variant(wi, w.model, b, seq, w.phase, specs))
    if parsed.serving is not None:
        from hwsim.study.serving_check import check_serving

        models = {w.model: _checked(source, "workloads", lambda w=w: cached_model(
            w.model, 1, "decode")) for w in parsed.workloads}
        _checked(source, "serving", lambda: check_serving(parsed, models))
    return Study(parsed, source, chip_hashes, kinds, model_hashes, tuple(variants))


def _is_system(name: str) -> bool:
    from hwsim.parallel import is_system

    return is_system(name)


def chip_document_hash(name_or_path: str) -> str:
    return content_hash(read_yaml_file(resolve("chips", name_or_path)))


@functools.lru_cache(maxsize=64)
def cached_model(model: str, seq: int | None, phase: str | None) -> Any:
    """Models are immutable and building one costs ~0.5 s: load each once per process."""
    from hwsim.workload.load import load_model

    return load_model(model, seq=seq, phase=phase)


def _checked(source: str, field: str, fn: Any) -> Any:
    try:
        return fn()
    except HwsimError as exc:
        first = exc.problems[0] if exc.problems else Problem("", exc.summary)
        detail = f"{exc.source}: {first.field + ': ' if first.field else ''}{first.message}"
        raise HwsimError(source, [Problem(field, detail, first.given, first.hint)],
                         summary="invalid study") from None
