"""hwsim's costs of one GEMM on a generic systolic array, in the quantities SCALE-Sim reports.

Goes through the engine's own path (``split_works`` -> ``cost_gemms``: sparsity effect, array
cycles, off-chip mapping, buffer traffic) on ``systolic-32x32`` with the array, dataflow and
N:M support overridden, int8 (one byte per SCALE-Sim word) and buffers large enough that every
operand is fetched from off-chip once, as in SCALE-Sim's CALC runs with 6 MiB SRAMs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.engine.accelerator.analytic import cost_gemms, prepare, split_works
from hwsim.hardware.chips import load_chip
from hwsim.mapping.lowering import conv_to_gemm
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.workload.load import gemm

BUFFER_BYTES = 8 * 2**20  # per buffer: every operand fits, so off-chip bytes = operand bytes


def layer_gemm(layer: object) -> tuple[int, int, int]:
    """(M, N, K) of a SCALE-Sim peer layer (``GemmLayer`` or ``ConvLayer``) as hwsim lowers it:
    a conv through im2col with SCALE-Sim's ceil rounding of the output size."""
    if all(hasattr(layer, a) for a in ("m", "n", "k")):
        return int(layer.m), int(layer.n), int(layer.k)  # type: ignore[attr-defined]
    c = layer
    m, n, k, _ = conv_to_gemm(c.h, c.w, c.c, c.filters, c.r, c.s, c.stride,  # type: ignore
                              ofmap_rounding="ceil")
    return int(m), int(n), int(k)


@dataclass(frozen=True)
class HwsimGemm:
    """One GEMM's figures (bytes = SCALE-Sim words at int8; psums at the accumulator width)."""

    compute_cycles: int
    k_compute: int  # the reduction the array runs (N:M slots, or K)
    sram_a_read_bytes: float  # ifmap buffer -> array
    sram_b_read_bytes: float  # filter buffer -> array, N:M metadata included
    ofmap_sram_bytes: float  # psums written + read back (accumulator width), outputs read out
    offchip_a_bytes: float
    offchip_b_bytes: float  # N:M metadata included
    offchip_c_bytes: float
    accumulator_bytes: int


def hwsim_gemm(m: int, n: int, k: int, rows: int, cols: int, dataflow: str,
               chip_nm: tuple[int, int] | None, weights_nm: tuple[int, int] | None) -> HwsimGemm:
    chip = load_chip("systolic-32x32", overrides={
        "array.rows": rows, "array.cols": cols, "dataflow": dataflow,
        "sparse_features.nm": None if chip_nm is None else list(chip_nm),
        **{f"buffers.{b}.size_bytes": BUFFER_BYTES for b in ("ifmap", "filter", "ofmap")}})
    model = gemm(m, n, k)
    if weights_nm is not None:
        model = apply_sparsity(model, [f"*:nm:n={weights_nm[0]},m={weights_nm[1]},"
                                       "operand=weights"])
    pre = prepare(chip)
    gemms, _, _ = split_works(model, 1, 1, False)
    batch = cost_gemms(model, gemms, chip, pre)
    g, off = batch.costs, batch.costs.offchip_by_operand
    assert off is not None and len(gemms) == 1
    a_off, b_off, c_off = (float(off[x][0]) for x in ("a", "b", "c"))
    return HwsimGemm(
        compute_cycles=int(g.compute_cycles[0]),
        k_compute=int(batch.effects[0].k_compute or k),
        sram_a_read_bytes=float(g.sram_bytes["ifmap_sram"][0]) - a_off,
        sram_b_read_bytes=float(g.sram_bytes["filter_sram"][0]) - b_off,
        ofmap_sram_bytes=float(g.sram_bytes["ofmap_sram"][0]),
        offchip_a_bytes=a_off, offchip_b_bytes=b_off, offchip_c_bytes=c_off,
        accumulator_bytes=chip.array.accumulator_bytes)

