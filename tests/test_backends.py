"""One backend per chip kind behind one protocol; per-kind logic reached only through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hwsim
from hwsim.engine.backend import KINDS, Backend, backend_for
from hwsim.errors import HwsimError

PKG = Path(hwsim.__file__).resolve().parent
ONE_PER_KIND = {"accelerator": "systolic-32x32", "gpu": "a100-sxm-80gb", "mcu": "ethos-u55-128"}
PROTOCOL = [n for n in dir(Backend) if not n.startswith("_")] + [
    "kind", "energy_components", "byte_levels", "weight_level"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_implements_the_protocol(kind: str) -> None:
    backend = backend_for(kind)
    assert backend.kind == kind
    missing = [n for n in PROTOCOL if not hasattr(backend, n)]
    assert not missing


def test_unknown_kind_is_named() -> None:
    with pytest.raises(ValueError, match="quantum"):
        backend_for("quantum")


@pytest.mark.parametrize("kind,chip_name", ONE_PER_KIND.items())
def test_result_totals_agree_with_the_backend(kind: str, chip_name: str) -> None:
    chip = hwsim.load_chip(chip_name)
    backend = backend_for(chip)
    r = hwsim.simulate("gpt2-small", chip) if kind != "mcu" else hwsim.simulate(
        "mlperf-tiny-kws", chip)
    assert r.total.area_breakdown_mm2 == backend.area_mm2(chip)
    assert r.total.static_power_w == backend.static_power_w(chip)
    assert set(r.total.energy_breakdown_j) == set(backend.energy_components)
    assert set(r.total.bytes) == set(backend.byte_levels)
    roof = backend.roofline(chip)
    assert roof.byte_level in backend.byte_levels
    # no op beats the compute roof
    assert all(op.macs / op.latency_s <= roof.peak_macs_per_s * (1 + 1e-9)
               for op in r.ops if op.latency_s > 0 and op.macs > 0)


def test_fit_counts_weights_kv_and_activations_against_offchip() -> None:
    from hwsim.workload.memory import kv_cache_bytes, peak_activation_bytes

    m = hwsim.load_model("llama2-7b", seq=1024, phase="decode")
    chip = hwsim.load_chip("a100-sxm-80gb")
    fit = backend_for(chip).memory_fit(m, chip, 4)
    expect = m.weight_bytes + kv_cache_bytes(m, 4) + peak_activation_bytes(m, 4)[0]
    assert fit.resident_bytes == expect
    assert fit.fits is True and fit.capacity_bytes == chip.offchip.size_bytes
    # a bigger batch needs more memory: the KV cache and activations grow with it
    assert backend_for(chip).memory_fit(m, chip, 64).resident_bytes > expect
    tiny = hwsim.load_chip("a100-sxm-80gb", {"offchip.size_bytes": 1_000_000_000})
    small = backend_for(tiny).memory_fit(m, tiny, 4)
    assert small.fits is False and small.devices_needed == -(-int(expect) // 1_000_000_000)


def test_mcu_fit_is_the_one_in_the_result() -> None:
    chip = hwsim.load_chip("stm32f746-m7")
    r = hwsim.simulate("mlperf-tiny-kws", chip)
    fit = backend_for(chip).memory_fit(hwsim.load_model("mlperf-tiny-kws"), chip, 1, result=r)
    row_fit = next(op.mapping["fit"] for op in r.ops if "fit" in op.mapping)
    assert fit.fits == row_fit["fits"] and fit.detail["arena_bytes"] == row_fit["arena_bytes"]


def test_study_fit_uses_the_backend_rule() -> None:
    from hwsim.study.evaluate import fit_fields

    m = hwsim.load_model("llama2-7b", seq=1024, phase="decode")
    chip = hwsim.load_chip("rtx-4090")
    row = fit_fields(chip, m, 2, None)
    fit = backend_for(chip).memory_fit(m, chip, 2)
    assert row == {"fits": fit.fits, "fit_detail": fit.summary}
    assert "KV cache" in row["fit_detail"] and "activations" in row["fit_detail"]


def test_active_residency_needs_a_result() -> None:
    chip = hwsim.load_chip("a100-sxm-80gb")
    with pytest.raises(HwsimError, match="active"):
        backend_for(chip).memory_fit(hwsim.load_model("gpt2-small"), chip, 1,
                                     resident="active")


CHIP_CLASSES = {"AcceleratorChip", "GpuChip", "McuChip"}


def _dispatch_sites(path: Path) -> list[int]:
    """Lines where code branches on a concrete chip class (isinstance) or a kind literal."""
    tree = ast.parse(path.read_text())
    lines = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance"
                and len(node.args) == 2):
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            if names & CHIP_CLASSES:
                lines.append(node.lineno)
        if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in KINDS for c in node.comparators):
            left = ast.unparse(node.left)
            if left.endswith(".kind") and "chip" in left:
                lines.append(node.lineno)
    return lines


def test_no_chip_kind_dispatch_outside_the_backends() -> None:
    """Per-kind logic lives in hwsim/engine/<kind>/; everything else asks the registry."""
    allowed = {PKG / "engine" / k for k in KINDS}
    offenders = {}
    for path in PKG.rglob("*.py"):
        if any(a in path.parents for a in allowed):
            continue
        sites = _dispatch_sites(path)
        if sites:
            offenders[str(path.relative_to(PKG))] = sites
    assert not offenders


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """hwsim modules ``module`` imports (at any depth of the file, except TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        out |= {n for n in names if n in modules and n != module}
    return out


def test_no_import_cycles() -> None:
    files = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    graph = {m: _imports(p, m, set(files)) - {"hwsim"} for m, p in files.items()}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles
