"""Where physics fixes the sign of a knob's effect, it holds over random chips and shapes
(hypothesis, derandomized in conftest.py): a higher clock is never slower; more bandwidth, PEs,
SMs or MACs are never slower; a bigger buffer never moves more off-chip bytes; a lower density
never costs more; a longer sequence is never cheaper."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hwsim
from hwsim.config.knobs import get_path
from hwsim.errors import HwsimError
from hwsim.validation.mcu_vela_ops import op_runs, predict

ACCELERATORS = ("systolic-32x32", "systolic-128x128", "eyeriss-like", "tpu-v1-like",
                "sparseflow-accel", "stc-like")
GPUS = ("a100-sxm-80gb", "h100-sxm", "rtx-4090", "jetson-agx-orin-64gb", "l4", "t4-pcie",
        "v100-sxm2-32gb", "h200-sxm", "a100-pcie-40gb", "v100-pcie-32gb", "rtx-2080")
MCUS = ("stm32h7a3-m7", "stm32l4r5-m4", "ethos-u55-128", "alif-m55-u55", "ethos-u65-256")
EPS = 1e-9  # relative slack for float sums

# No shrinking: a failure prints its example, and shrinking a simulation costs minutes.
FAST = settings(max_examples=12, deadline=None, phases=(Phase.explicit, Phase.generate),
                suppress_health_check=[HealthCheck.too_slow])
shapes = st.tuples(st.integers(1, 512), st.integers(16, 1024), st.integers(16, 1024))
factors = st.sampled_from([1.25, 2.0, 4.0])


def _chip(name: str, overrides: dict[str, Any] | None = None) -> Any:
    return hwsim.load_chip(name, overrides)


def _scaled(chip: Any, path: str, f: float) -> Any | None:
    """The chip with ``path`` multiplied by ``f`` (None when that is not a valid chip: refused
    by the schema, or a GPU whose large GEMM would draw more than its TDP before any math, so
    its energy cannot be calibrated - e.g. an L4 with 4x the SMs at 72 W)."""
    value = get_path(chip, path)
    if value is None:
        return None
    new = round(value * f) if isinstance(value, int) else value * f
    try:
        scaled = hwsim.load_chip(chip, {path: new})
        if scaled.kind == "gpu":
            hwsim.simulate(hwsim.gemm(16, 16, 16, dtype="fp16"), scaled)
        return scaled
    except HwsimError:
        return None


def _latency(model: Any, chip: Any, **kw: Any) -> float:
    return hwsim.simulate(model, chip, **kw).total.latency_s


def _gemm(shape: tuple[int, int, int], chip: Any) -> Any:
    dtype = "fp16" if chip.kind == "gpu" else "int8"
    return hwsim.gemm(*shape, dtype=dtype)


SCALED = [(c, p) for c in ACCELERATORS for p in
                  ("clock_hz", "offchip.bw_bytes_per_s", "vector_unit.lanes")] + [
    (c, p) for c in GPUS for p in ("clock_hz", "offchip.bw_bytes_per_s", "sms",
                                   "tensor_flops_per_clk_per_sm.fp16",
                                   "cuda_flops_per_clk_per_sm")] + [
    (c, p) for c in MCUS for p in ("clock_hz", "macs_per_cycle.int8", "npu.macs_per_cycle",
                                   "npu.clock_hz", "npu.axi_bytes_per_cycle")]
# Cases whose sign is known to fail are taken out of the random search and pinned below as
# deterministic examples (a random search finds them only sometimes, e.g. from hypothesis'
# example database, which a fresh clone does not have).
# A U55 with 256 MACs is not always faster than one with 128: its 2x2 micro-block half-fills on
# a one-row output and it may pick a deeper output block that wastes more channels; Vela 5.2.0
# shows the same sign on 9 of its single-op sweep's U55 pairs
# (test_more_npu_macs_can_be_slower_as_in_vela).
# The boards that draw their die's active power (active_power_of: T4, V100 PCIe) pay it per
# SM inside a fixed limit: twice the SMs at 70 W throttle a small GEMM that cannot use them
# below the smaller chip's clock (test_more_sms_on_a_power_limited_board_can_be_slower). A T4
# configured at 4x its boost clock throttles back near its boost, where the throttle's linear
# stretch of the time costed at 6.36 GHz can exceed the 1.59 GHz costing by a few per cent
# (test_t4_at_four_times_its_boost_clock_throttles_back_within_a_few_per_cent).
KNOWN_SIGN_FAILURES = {("a100-sxm-80gb", "sms"), ("a100-pcie-40gb", "sms"),
                       ("t4-pcie", "sms"), ("v100-pcie-32gb", "sms"), ("t4-pcie", "clock_hz"),
                       ("ethos-u55-128", "npu.macs_per_cycle"),
                       ("alif-m55-u55", "npu.macs_per_cycle")}
MORE_IS_FASTER = [(c, p) for c, p in SCALED if (c, p) not in KNOWN_SIGN_FAILURES]


def test_more_npu_macs_can_be_slower_as_in_vela() -> None:
    """Two single-op sweep runs (vela_ops_runs.csv, Sram_Only) where Vela 5.2.0 has the U55-256
    slower than the U55-128; the structural model moves the same way on both."""
    runs = {(r.op, r.config): r for r in op_runs() if r.memory_mode == "Sram_Only"}
    for op in ("depthwise_h8w8c128_k128_r3s2", "conv_h8w8c64_k128_r3s2"):
        small, big = runs[(op, "ethos-u55-128")], runs[(op, "ethos-u55-256")]
        assert big.vela_layer_cycles > small.vela_layer_cycles
        assert predict(big) > predict(small)


def test_a100_more_sms_never_slows_a_gemm_that_leaves_sms_idle() -> None:
    """a100's preset gives a whole-chip L2 bandwidth (l2_bytes_per_clk: 5120): more SMs share it
    only when busy (hwsim.engine.gpu.rates.l2_bw_per_busy_sm). Before, a 1x16x16 fp16 GEMM went
    4.061 -> 4.077 us at 108 -> 135 SMs."""
    chip = _chip("a100-sxm-80gb")
    g = _gemm((1, 16, 16), chip)
    assert _latency(g, _scaled(chip, "sms", 1.25)) <= _latency(g, chip)


def test_a100_more_sms_never_slower_tile_heuristic_case() -> None:
    """301x989x1024 fp16 at twice the SMs took 64x128 tiles instead of 128x128 and grew
    7.09 -> 7.16 us while the tile choice ignored DRAM time; it counts it now (issue 17)."""
    chip = _chip("a100-sxm-80gb")
    g = _gemm((301, 989, 1024), chip)
    assert _latency(g, _scaled(chip, "sms", 2.0)) <= _latency(g, chip) * (1 + EPS)


def test_a100_pcie_more_sms_near_tie_case() -> None:
    """227x1024x500 fp16 on the A100 PCIe at twice the SMs: before the sm80 C-tile store was
    costed, near-tied candidates went 128x64 split 3 -> 64x64 split 2, 5.366 -> 5.392 us
    (an xfail until the gemm-tiles branch); now more SMs are no slower at one active power
    (with the die's per-SM active power, 216 SMs draw 197 W of the 250 W before any math and
    the GEMM is power-bound: test_more_sms_on_a_power_limited_board_can_be_slower)."""
    chip = _chip("a100-pcie-40gb", {"active_power_of": None})
    g = _gemm((227, 1024, 500), chip)
    assert _latency(g, _scaled(chip, "sms", 2.0)) <= _latency(g, chip) * (1 + EPS)


@pytest.mark.parametrize(("name", "shape"), [("t4-pcie", (308, 219, 140)),
                                             ("a100-pcie-40gb", (227, 1024, 500))])
def test_more_sms_on_a_power_limited_board_can_be_slower(name: str,
                                                          shape: tuple[int, int, int]) -> None:
    """Physics, not a defect: a board drawing its die's active power (active_power_of) pays it
    per SM, so twice the SMs inside the same limit leave less for the clock; a GEMM too small
    to use them runs power-bound below the smaller chip's clock and is slower."""
    chip = _chip(name)
    more = _scaled(chip, "sms", 2.0)
    g = _gemm(shape, chip)
    small, big = hwsim.simulate(g, chip), hwsim.simulate(g, more)
    assert big.ops[0].bottleneck == "power" and small.ops[0].bottleneck != "power"
    assert big.total.latency_s > small.total.latency_s


def test_t4_faster_clock_case_c_tile_store_is_not_clocked() -> None:
    """236x514x489 fp16 on a T4 at 4x the clock: when the throttle stretched the sm80 C-tile
    store (DRAM time) with the SM clock, the faster chip came out slower, 8.0110 -> 8.0118 us.
    With the die's active power both run power-bound at one clock: no slower."""
    chip = _chip("t4-pcie")
    g = _gemm((236, 514, 489), chip)
    assert _latency(g, _scaled(chip, "clock_hz", 4.0)) <= _latency(g, chip) * (1 + EPS)


def test_t4_at_four_times_its_boost_clock_throttles_back_within_a_few_per_cent() -> None:
    """A known approximation, pinned: a T4 set to 6.36 GHz (4x its 1.59 GHz boost, so 4x its
    boost voltage on the model's curve) draws far over 70 W and throttles to ~1.65 GHz; the
    throttle stretches the clocked time costed at 6.36 GHz linearly, and the tiles and serial
    store chosen there cost 2.4 % more at 1.65 GHz than the T4's own costing at 1.59 GHz."""
    chip = _chip("t4-pcie")
    g = _gemm((246, 154, 188), chip)
    fast, base = _latency(g, _scaled(chip, "clock_hz", 4.0)), _latency(g, chip)
    assert base < fast < 1.05 * base


def test_every_scaled_field_exists_on_some_preset() -> None:
    """A renamed field would make the property skip every example: each path must resolve."""
    missing = {p for _, p in SCALED} - {p for c, p in SCALED if get_path(_chip(c), p) is not None}
    assert not missing, missing


@pytest.mark.parametrize("name,path", MORE_IS_FASTER)
@FAST
@given(shape=shapes, f=factors)
def test_more_clock_bandwidth_units_never_slower(name: str, path: str,
                                                 shape: tuple[int, int, int], f: float) -> None:
    chip = _chip(name)
    more = _scaled(chip, path, f)
    if more is None:
        return  # the preset has no such unit, or the scaled value is out of range
    g = _gemm(shape, chip)
    # Cycles are whole: a faster clock can land one rounding cycle later.
    assert _latency(g, more) <= _latency(g, chip) * (1 + EPS) + 1.0 / more.clock_hz


@pytest.mark.parametrize("name", ACCELERATORS)
@FAST
@given(shape=shapes, f=factors)
def test_more_pes_never_slower_when_the_work_fills_them(name: str, shape: tuple[int, int, int],
                                                        f: float) -> None:
    """Rows and columns both scaled with the SRAM per PE kept, on work that spans the bigger
    array. (A small GEMM on a bigger array pays a longer fill and drain, and a bigger array
    behind the same buffers refetches its bigger tiles: neither sign is fixed.)"""
    chip = _chip(name)
    rows, cols = round(chip.array.rows * f), round(chip.array.cols * f)
    m, n, k = (max(x, rows * 2, cols * 2) for x in shape)
    buffers = {f"buffers.{b}.size_bytes": round(getattr(chip.buffers, b).size_bytes * f * f)
               for b in ("ifmap", "filter", "ofmap")}
    try:
        more = hwsim.load_chip(chip, {"array.rows": rows, "array.cols": cols} | buffers)
    except HwsimError:
        return
    g = hwsim.gemm(m, n, k)
    assert _latency(g, more) <= _latency(g, chip) * (1 + EPS)


BUFFERS = [(c, p) for c in ACCELERATORS for p in ("buffers.ifmap.size_bytes",
                                                  "buffers.filter.size_bytes",
                                                  "buffers.ofmap.size_bytes")] + [
    (c, "l2_bytes") for c in GPUS]


@pytest.mark.parametrize("name,path", BUFFERS)
@FAST
@given(shape=shapes, f=factors)
def test_bigger_buffer_never_more_offchip_bytes(name: str, path: str,
                                                shape: tuple[int, int, int], f: float) -> None:
    chip = _chip(name)
    bigger = _scaled(chip, path, f)
    assert bigger is not None
    g = _gemm(shape, chip)
    small = hwsim.simulate(g, chip).total.bytes["offchip"]
    assert hwsim.simulate(g, bigger).total.bytes["offchip"] <= small * (1 + EPS)


SPARSE_CHIPS = ("sparseflow-accel", "systolic-32x32", "a100-sxm-80gb", "stm32h7a3-m7")


@pytest.mark.parametrize("name", SPARSE_CHIPS)
@FAST
@given(lo=st.floats(0.02, 0.9), gap=st.floats(0.01, 0.5), skipping=st.booleans())
def test_lower_density_never_costs_more(name: str, lo: float, gap: float,
                                        skipping: bool) -> None:
    """Fewer active neurons never take more time, energy or MACs (on a chip that cannot use
    the zeros, exactly as many)."""
    features: dict[str, Any] | None = {"sparse_features.gather": skipping}
    if name in ACCELERATORS:
        features = {"sparse_features.zero_skipping": skipping, **(features or {})}
    elif name in MCUS:
        features = None  # an MCU has no sparse features (its kernels skip in software)
    chip = _chip(name, features)
    hi = min(1.0, lo + gap)
    model = "selective-gpt2-small"

    def run(d: float) -> Any:
        return hwsim.simulate(model, chip, sparsity=[f"*.ffn_up:topk:density={d!r}",
                                                     f"*.ffn_down:topk:density={d!r}"]).total

    sparse, denser = run(lo), run(hi)
    assert sparse.latency_s <= denser.latency_s * (1 + EPS)
    assert sparse.energy_j <= denser.energy_j * (1 + EPS)
    assert sparse.macs <= denser.macs


SEQ_CHIPS = ("systolic-32x32", "tpu-v1-like", "a100-sxm-80gb", "h100-sxm", "stm32h7a3-m7")


@pytest.mark.parametrize("name", SEQ_CHIPS)
@FAST
@given(seq=st.integers(8, 1024), more=st.integers(1, 512),
       phase=st.sampled_from(["prefill", "decode"]))
def test_longer_sequence_never_cheaper(name: str, seq: int, more: int, phase: str) -> None:
    """On GPUs the model runs in fp16 (int8 decode's monotonicity in batch is tested in
    tests/test_gpu_knobs.py) and within 3 %: the GEMM tile search is not monotonic in M
    (a100-sxm-80gb, gpt2-small prefill fp16: seq 1088 -> 1097 is 0.6 % faster, seq 701 -> 710
    uses 1.9 % less energy), where a smaller GEMM could always run the bigger one's tiling."""
    chip = _chip(name)
    gpu = chip.kind == "gpu"
    slack = 0.03 if gpu else EPS

    def run(s: int) -> Any:
        m = hwsim.load_model("gpt2-small", seq=s, phase=phase, overrides={
            "builder.layers": 1} | ({"builder.dtype": "fp16"} if gpu else {}))
        return hwsim.simulate(m, chip).total

    short, long = run(seq), run(seq + more)
    assert long.latency_s >= short.latency_s * (1 - slack)
    assert long.energy_j >= short.energy_j * (1 - slack)
