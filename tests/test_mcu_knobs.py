"""Every MCU/NPU knob acts (issue 15): Ethos-U product and memory modes, TCM, cache, CMSIS-NN,
and NPU-only presets without host-core fields. Each test fails on the code before the fix."""

from __future__ import annotations

import itertools

import pytest

from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.report.validate_mcu_modes import mode_rows
from hwsim.workload.load import load_model

MODELS = ("kws", "ic", "vww", "ad")


def _run(model: str, chip: str, batch: int = 1, **overrides: object) -> tuple[float, float]:
    """(latency_s, AXI1/flash bytes) of an MLPerf Tiny model."""
    _, t = simulate_mcu(load_model(f"mlperf-tiny-{model}"), load_chip(chip, overrides), batch)
    return t.latency_s, t.bytes["flash"]


@pytest.mark.parametrize("model", MODELS)
def test_u65_is_never_slower_than_u55_and_faster_where_the_ports_bind(model: str) -> None:
    u55, _ = _run(model, "ethos-u55-256")
    u65, _ = _run(model, "ethos-u55-256", **{"npu.product": "ethos-u65"})
    assert u65 <= u55 * (1 + 1e-12)
    assert load_chip("ethos-u55-256", {"npu.product": "ethos-u65"}).npu.axi_bytes_per_cycle == 16
    if model == "ad":  # weight-stream bound on flash: the 128-bit port halves it
        assert u65 < 0.6 * u55


def test_u65_mac_configurations_and_cores() -> None:
    assert load_chip("ethos-u65-512").npu.cores == 2
    assert load_chip("ethos-u65-256").npu.cores == 1
    with pytest.raises(HwsimError, match="not a MAC configuration of the ethos-u65"):
        load_chip("ethos-u55-128", {"npu.product": "ethos-u65"})
    # A U65 with no memory mode given takes Vela's default, Dedicated_Sram over DRAM.
    chip = load_chip("ethos-u55-256", {"npu.product": "ethos-u65", "npu.memory_mode": None,
                                       "npu.weight_memory": None})
    assert (chip.npu.memory_mode, chip.npu.weight_memory) == ("Dedicated_Sram", "dram")


def test_memory_modes_put_the_bytes_on_different_ports() -> None:
    shared_s, shared_b = _run("ad", "ethos-u55-128")
    only_s, only_b = _run("ad", "ethos-u55-128", **{"npu.memory_mode": "Sram_Only"})
    assert only_b == 0.0 and shared_b > 0.0  # Sram_Only reads nothing from flash
    assert only_s < 0.5 * shared_s  # Vela 5.2.0: 40929 vs 201184 cycles
    ded_s, ded_b = _run("vww", "ethos-u65-256")
    small_s, small_b = _run("vww", "ethos-u65-256", sram_bytes=32768)
    shr_s, shr_b = _run("vww", "ethos-u65-256", **{"npu.memory_mode": "Shared_Sram"})
    assert small_b > ded_b > shr_b  # feature maps that miss a small cache go to DRAM
    # A 384 KiB cache does not cost what all-in-SRAM does: the network input is read from
    # DRAM (Vela 5.2.0: 152904 vs 120971 cycles on VWW, 1.26x; the structural model gives
    # 1.06x: it under-costs Dedicated_Sram, the gap in docs/mcu.md).
    only_s, _ = _run("vww", "ethos-u65-256", **{"npu.memory_mode": "Sram_Only"})
    assert small_s > ded_s > 1.03 * only_s and ded_s > 1.03 * shr_s
    with pytest.raises(HwsimError, match="must be writable"):
        load_chip("ethos-u55-128", {"npu.memory_mode": "Dedicated_Sram"})
    with pytest.raises(HwsimError, match="Sram_Only"):
        load_chip("alif-m55-u55", {"npu.weight_memory": "sram"})


def test_a_bigger_dedicated_cache_is_never_slower() -> None:
    sizes = (8192, 32768, 131072, 393216, 1 << 20)
    for model in ("vww", "ic"):
        lat = [_run(model, "ethos-u65-256", sram_bytes=s)[0] for s in sizes]
        assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(lat))
        assert lat[-1] < lat[0]


def test_modes_move_the_way_vela_moves_them() -> None:
    """Held-out Vela 5.2.0 runs (vela_memory_modes.csv): where Vela's cycles move by more than
    5 % with the memory mode, product or cache, hwsim moves the same way by more than 1 %,
    except the two known gaps listed in docs/mcu.md; it never moves the other way."""
    rows = mode_rows()
    assert len(rows) == 44
    misses = set()
    for r in rows:
        v, h = r["vela_vs_default"], r["hwsim_vs_default"]
        if abs(v - 1.0) > 0.05:
            assert (h - 1.0) * (v - 1.0) >= 0.0 or abs(h - 1.0) < 0.01, r
            if abs(h - 1.0) < 0.01:
                misses.add((r["model"], r["config"], r["memory_mode"]))
    assert misses == {("vww", "ethos-u65-256", "Dedicated_Sram_384KB cache 64 KiB"),
                      ("ad", "ethos-u65-256", "Sram_Only")}


@pytest.mark.parametrize("field", ["tcm_bytes", "cache_bytes"])
def test_tcm_and_cache_never_slower_and_faster_where_weights_fit(field: str) -> None:
    sizes = (0, 4096, 32768, 131072, 1 << 20)
    lat = [_run("ad", "stm32f746-m7", 4, **{field: s})[0] for s in sizes]
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(lat))
    assert lat[-1] < 0.97 * lat[0]


def test_tcm_takes_weights_off_flash() -> None:
    _, flash0 = _run("ad", "stm32f746-m7", tcm_bytes=0)
    _, flash1 = _run("ad", "stm32f746-m7", tcm_bytes=300_000)
    assert flash0 > 0 and flash1 == 0.0


@pytest.mark.parametrize("board", ["stm32l4r5-m4", "stm32f746-m7", "stm32u585-m33",
                                   "stm32h7a3-m7", "esp32-s3"])
def test_cmsis_nn_differs_from_vendor_optimized(board: str) -> None:
    cmsis, _ = _run("kws", board, kernel_library="cmsis-nn")
    vendor, _ = _run("kws", board, kernel_library="vendor-optimized")
    assert 1.3 < cmsis / vendor < 2.0  # MLPerf Tiny v1.1 Krai vs v1.0 Plumerai: 1.4x on KWS


def test_npu_only_presets_carry_no_host_fields_and_their_clock_acts() -> None:
    chip = load_chip("ethos-u55-128")
    for f in ("core", "macs_per_cycle", "kernel_library", "flash_wait_states",
              "active_ua_per_mhz", "supply_v", "tcm_bytes", "cache_bytes"):
        assert getattr(chip, f) is None
        with pytest.raises(HwsimError, match="host-core field"):
            load_chip("ethos-u55-128", {f: 1})
    assert chip.npu.clock_hz == chip.clock_hz
    slow, _ = _run("kws", "ethos-u55-128", clock_hz=250e6)
    fast, _ = _run("kws", "ethos-u55-128")
    assert slow == pytest.approx(2 * fast)
    with pytest.raises(HwsimError, match="clock_hz is the NPU clock"):
        load_chip("ethos-u55-128", {"npu.clock_hz": 1e8})
    with pytest.raises(HwsimError, match="missing host-core field"):
        load_chip("stm32l4r5-m4", {"core": None})
