"""A GPU's rates, each per clock per SM (or per clock) times the SMs and ``clock_hz``, so a clock
or SM study scales every on-chip rate; DRAM bandwidth is the memory's own and does not follow the
core clock."""

from __future__ import annotations

from hwsim.config.chip import GpuChip
from hwsim.errors import input_error

# NVIDIA A100 Tensor Core GPU Architecture whitepaper: L2 read bandwidth 5120 bytes/clk, 108 SMs.
A100_L2_BYTES_PER_CLK = 5120.0
A100_SMS = 108
# fp16 and bf16 share a tensor rate on every NVIDIA part since Ampere; int16 runs as fp16; int4
# is weight-only (W4A16, hwsim.units.Dtype): everything but its weights runs as fp16. A bf16
# GEMM on a part without bf16 tensor cores (Volta, Turing) does not run at the fp16 rate: it
# runs on the CUDA cores (:func:`native_bf16`, :func:`tensor_peak`, hwsim.engine.gpu.math_paths).
TENSOR_TWINS = {"fp16": "bf16", "bf16": "fp16", "int16": "fp16", "int4": "fp16"}
# Dtypes only some tensor cores have: asked of a chip that does not list them, the math has no
# rate to fall back on (fp8 needs Hopper or Ada: NVIDIA H100 whitepaper, Ada whitepaper).
NATIVE_ONLY = ("fp8",)
# A 2:4 sparse tensor core doubles the dense rate (NVIDIA A100 whitepaper, "Fine-grained
# structured sparsity"; the same factor in the H100, Ada and Orin datasheets).
NM_SPARSE_SPEEDUP = 2.0


def native_bf16(chip: GpuChip) -> bool:
    """Whether ``chip`` lists bf16 tensor cores. The bf16 ``mma`` instructions need sm_80 (PTX
    ISA, "Warp-level matrix multiply-accumulate instructions": ``.bf16`` requires ``sm_80`` or
    higher), so Volta and Turing multiply bf16 on their CUDA cores. A chip file that lists
    neither 16-bit float rate runs bf16 there too (its fp16 keeps the lowest listed rate)."""
    return "bf16" in chip.tensor_flops_per_clk_per_sm


def tensor_16bit_dtype(chip: GpuChip) -> str:
    """The 16-bit float dtype ``chip``'s tensor cores run: bf16 where listed, else fp16 (the
    calibration GEMM's dtype, and the math dtype of 16-bit-activation kernels)."""
    return "bf16" if native_bf16(chip) else "fp16"


def per_chip(chip: GpuChip, per_clk_per_sm: float) -> float:
    """A per-clock-per-SM figure as a whole-chip rate per second."""
    return per_clk_per_sm * chip.sms * chip.clock_hz


def kernel_overhead_s(chip: GpuChip) -> float:
    """Fixed time per kernel: the CPU launch, or inside a CUDA graph the graph's per-kernel
    gap plus pipeline fill and drain (``graph_kernel_overhead_s``, fitted, see docs/gpu.md)."""
    return chip.graph_kernel_overhead_s if chip.cuda_graphs else chip.launch_overhead_s


def convert_rate(chip: GpuChip) -> float:
    """Int-to-float conversions per second on the CUDA cores."""
    return per_chip(chip, chip.convert_per_clk_per_sm)


def dram_bw(chip: GpuChip) -> float:
    """Sustained DRAM bandwidth, bytes/s (the memory's clock, not the core's)."""
    return chip.offchip.bw_bytes_per_s * chip.dram_efficiency


def l2_bw(chip: GpuChip) -> float:
    """L2 bandwidth, bytes/s: bytes per clock x clock. Unset: A100's L2 read bandwidth per SM
    per clock (5120 B/clk over 108 SMs, NVIDIA A100 whitepaper) x this chip's SMs."""
    per_clk = chip.l2_bytes_per_clk or A100_L2_BYTES_PER_CLK / A100_SMS * chip.sms
    return per_clk * chip.clock_hz


def cuda_peak(chip: GpuChip) -> float:
    """CUDA-core FLOP/s for elementwise work: FP32 FMA lanes at the clock. PyTorch computes
    fp16/bf16 elementwise kernels in fp32 (``at::opmath_type``), so one rate serves every
    dtype."""
    return per_chip(chip, chip.cuda_flops_per_clk_per_sm)


def tensor_peak(chip: GpuChip, dtype: str, sparse: bool = False) -> float:
    """Tensor-core FLOP/s for ``dtype`` (fp16 and bf16 share a rate when one is listed; fp32
    GEMMs run on CUDA cores when no fp32 tensor rate is given, and so does bf16 math on a part
    without bf16 tensor cores, :func:`native_bf16`; 2:4 work in a dtype without a sparse rate
    runs at twice its dense rate)."""
    if dtype == "bf16" and not native_bf16(chip):
        return cuda_peak(chip)
    table = chip.tensor_flops_sparse_per_clk_per_sm if sparse else chip.tensor_flops_per_clk_per_sm
    for key in (dtype, TENSOR_TWINS.get(dtype, dtype)):
        if key in table:
            return per_chip(chip, table[key])
    if dtype in NATIVE_ONLY and dtype not in chip.tensor_flops_per_clk_per_sm:
        raise input_error(chip.name, f"{chip.name} has no {dtype} tensor cores",
                          field="tensor_flops_per_clk_per_sm", given=dtype,
                          hint=f"{dtype} math needs a chip that lists it (Hopper: h100-sxm, "
                          "h200-sxm; Ada: l4, rtx-4090); use bf16 or int8 on this one")
    if sparse:
        return NM_SPARSE_SPEEDUP * tensor_peak(chip, dtype)
    if dtype == "fp32":
        return cuda_peak(chip)
    return per_chip(chip, min(table.values()))


def best_tensor_peak(chip: GpuChip) -> float:
    """The highest dense tensor-core FLOP/s over the listed dtypes."""
    return per_chip(chip, max(chip.tensor_flops_per_clk_per_sm.values()))


def l2_bw_per_busy_sm(chip: GpuChip, busy_sms: int) -> float:
    """L2 bandwidth one busy SM gets, bytes/s: the chip's L2 bandwidth shared by the SMs that
    are busy, but never more than one SM's own L2 port (taken as A100's L2 read bandwidth per SM
    per clock, 5120 B/clk / 108 SMs, NVIDIA A100 whitepaper [derived]). With every SM busy this
    is ``l2_bw / sms``; a GPU with more SMs than its L2 feeds does not slow a kernel that keeps
    only a few of them busy."""
    busy = max(1, min(busy_sms, chip.sms))
    port = A100_L2_BYTES_PER_CLK / A100_SMS * chip.clock_hz
    return min(l2_bw(chip) / busy, max(port, l2_bw(chip) / chip.sms))
