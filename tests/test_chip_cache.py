"""What is remembered between ``simulate`` calls, and what makes it forget: a preset chip loaded
again is the same immutable object until its file, its overrides or its tech table change; its
energies follow the GEMM constants in force; ops that differ only in name are costed once."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

import hwsim
import hwsim.engine.gpu.analytic as analytic
from hwsim import presets
from hwsim.engine.gpu.energy import gpu_energy
from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants
from hwsim.engine.simulate import simulate
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp


def test_a_preset_loaded_again_is_the_same_object_until_its_overrides_differ() -> None:
    a, b = load_chip("h100-sxm"), load_chip("h100-sxm")
    assert a is b
    capped = load_chip("h100-sxm", {"power_limit_w": 500})
    assert capped is not a and capped.power_limit_w == 500
    assert load_chip("h100-sxm", {"power_limit_w": 500}) is capped
    assert load_chip("h100-sxm", {"power_limit_w": 400}) is not capped


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_an_edited_chip_file_or_tech_table_gives_a_new_chip(tmp_path: Path) -> None:
    tech = tmp_path / "node.yaml"
    shutil.copy(presets.preset_dir("tech") / "5nm.yaml", tech)
    chip_file = tmp_path / "gpu.yaml"
    text = (presets.preset_dir("chips") / "gpus" / "h100-sxm.yaml").read_text()
    chip_file.write_text(text.replace("tech: 5nm", f"tech: {tech}", 1))
    first = load_chip(chip_file)
    assert load_chip(chip_file) is first
    chip_file.write_text(chip_file.read_text())  # rewritten as it was: the same chip
    assert load_chip(chip_file) is first
    # Edited within the same clock tick (so possibly the same mtime) and to the same size: the
    # content decides.
    chip_file.write_text(chip_file.read_text().replace("tdp_w: 700", "tdp_w: 650", 1))
    edited = load_chip(chip_file)
    assert edited is not first and edited.tdp_w == 650
    _bump_mtime(tech)  # the tech table changed: the chip's energies must be recomputed
    assert load_chip(chip_file) is not edited


def test_energies_follow_the_gemm_constants_in_force() -> None:
    chip = load_chip("h100-sxm")
    shipped = gpu_energy(chip)
    slower = dataclasses.replace(gemm_constants(), sm90_tile_fill_cycles=20_000.0)
    with use_gemm_constants(slower):
        refit = gpu_energy(chip)
    assert refit.tensor_j_per_flop != shipped.tensor_j_per_flop
    assert gpu_energy(chip) is shipped


def test_ops_differing_only_in_name_are_costed_once_with_the_same_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ops = tuple(MatmulOp(name=f"layer{i}.up", m=64, n=4096, k=4096, dtype="bf16")
                for i in range(4))
    other = MatmulOp(name="head", m=64, n=512, k=4096, dtype="bf16")
    model = Model(name="repeat", ops=(*ops, other), origin="test")
    calls: list[str] = []
    real = analytic.op_kernels

    def counting(op, batch, chip):  # type: ignore[no-untyped-def]
        calls.append(op.name)
        return real(op, batch, chip)

    monkeypatch.setattr(analytic, "op_kernels", counting)
    result = simulate(model, "a100-sxm-80gb")
    assert calls == ["layer0.up", "head"]
    alone = simulate(Model(name="one", ops=(ops[0],), origin="test"), "a100-sxm-80gb")
    for row in result.ops[:4]:
        assert row.latency_s == alone.ops[0].latency_s
        assert row.energy_j == alone.ops[0].energy_j
    assert result.total.latency_s == pytest.approx(
        4 * alone.total.latency_s + result.ops[4].latency_s, rel=1e-12)


def test_the_preset_index_sees_files_added_and_removed(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "my-gpu.yaml"
    real = presets._preset_files

    def with_extra(kind):  # type: ignore[no-untyped-def]
        return real(kind) + ([extra] if kind == "chips" and extra.exists() else [])

    monkeypatch.setattr(presets, "_preset_files", with_extra)
    presets._stem_index.cache_clear()
    with pytest.raises(HwsimError):
        presets.resolve("chips", "my-gpu")
    shutil.copy(presets.preset_dir("chips") / "gpus" / "l4.yaml", extra)
    assert presets.resolve("chips", "my-gpu") == extra
    extra.unlink()
    with pytest.raises(HwsimError):
        presets.resolve("chips", "my-gpu")
    monkeypatch.setattr(presets, "_preset_files", real)
    presets._stem_index.cache_clear()
    assert hwsim.load_chip("l4").name == "l4"


def test_a_chip_file_is_read_once_per_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache key digests the text a miss then parses: one read per load, hit or miss."""
    import hwsim.hardware.chips as chips

    chip_file = tmp_path / "gpu.yaml"
    chip_file.write_text((presets.preset_dir("chips") / "gpus" / "l4.yaml").read_text())
    reads: list[str] = []
    real = chips.read_config_text

    def counting(path: str | Path) -> str:
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr(chips, "read_config_text", counting)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read_bytes({self})"))
    first = load_chip(chip_file)  # a miss
    assert load_chip(chip_file) is first  # a hit
    assert len(reads) == 2
    assert {Path(r).resolve() for r in reads} == {chip_file.resolve()}
