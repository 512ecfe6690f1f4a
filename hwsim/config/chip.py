"""Chip schemas: one document shape with a ``kind`` (accelerator | gpu | mcu).

Fields carry units in their names and a description. Every preset cites its sources in
``sources`` (field path -> citation) so a number can always be traced to a paper or datasheet.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.units import Dtype, OffchipKind, WeightMemory

Positive = Annotated[float, Field(gt=0)]


class SparseFeatures(StrictModel):
    """What the hardware can do with zeros. A feature the chip lacks gives no benefit."""

    zero_gating: bool = Field(False, description="gate MACs and reads on zero operands "
                              "(saves energy, not cycles)")
    zero_skipping: bool = Field(False, description="skip zero operands (saves cycles and energy)")
    skip_granularity: Literal["element", "block"] = Field("element", description="unit skipped")
    index_format: Literal["bitmask", "csr", "rle"] = Field("bitmask", description="metadata format")
    skip_block_elements: int = Field(1, ge=1, le=4096, description="elements per skipped "
                                     "block when skip_granularity=block")
    decode_cycles_per_block: float = Field(0.0, ge=0, description="index decode cycles per "
                                           "active block (element or skip block) in a lane")
    gather: bool = Field(False, description="fetch only active weight rows/columns")
    nm: tuple[int, int] | None = Field(None, description="N:M structured support, e.g. [2, 4]")


class Array(StrictModel):
    rows: int = Field(ge=1, le=4096, description="PE rows of the systolic array")
    cols: int = Field(ge=1, le=4096, description="PE columns of the systolic array")
    dtype: Dtype = Field("int8", description="operand data type of the MAC units")


class Buffer(StrictModel):
    """An on-chip SRAM scratchpad, double-buffered (half holds the tile in use)."""

    size_bytes: int = Field(ge=64, description="capacity in bytes")


class Buffers(StrictModel):
    ifmap: Buffer = Field(description="input activation SRAM")
    filter: Buffer = Field(description="weight SRAM")
    ofmap: Buffer = Field(description="output / partial-sum SRAM")


class Offchip(StrictModel):
    """The off-chip memory level (DRAM, HBM or flash)."""

    kind: OffchipKind = Field(description="technology, sets energy per bit from the tech table")
    bw_bytes_per_s: Positive = Field(description="sustained bandwidth, bytes per second")
    size_bytes: int | None = Field(None, ge=1, description="capacity in bytes (for fit checks)")
    burst_bytes: int = Field(64, ge=1, le=4096, description="smallest transfer, bytes (a DDR4 "
                             "x64 burst of 8 is 64 B): a gathered row costs whole bursts")


class VectorUnit(StrictModel):
    lanes: int = Field(ge=1, description="elementwise operations per cycle (softmax, norms, "
                       "activations, pooling)")


class RouterUnit(StrictModel):
    """A small dedicated MAC unit that runs predictor/router/gate ops instead of the array."""

    macs_per_cycle: int = Field(ge=1, description="MACs per cycle")


class ChipBase(StrictModel):
    schema_version: Literal[1] = Field(1, description="config format version")
    name: str = Field(min_length=1, description="preset name")
    description: str = Field("", description="one line shown by `hwsim list chips`")
    sources: dict[str, str] = Field(default_factory=dict,
                                    description="field path -> citation for its value")
    clock_hz: Positive = Field(description="core clock, Hz")
    tech: str = Field("45nm", description="technology node table in configs/tech (e.g. 45nm, 7nm)")


class AcceleratorChip(ChipBase):
    """A systolic / PE-array accelerator with SCALE-Sim-style ifmap/filter/ofmap buffers."""

    kind: Literal["accelerator"] = "accelerator"
    # Static power and zero handling are per kind: a GPU has idle_power_w, an MCU sleep_power_w,
    # and the MCU kernels (CMSIS-NN, TFLM, Vela) have no zero-skipping or gather path.
    static_power_w: float | None = Field(None, ge=0, description="measured static/idle power, W; "
                                         "when unset it comes from the tech table's leakage")
    sparse_features: SparseFeatures = SparseFeatures()
    array: Array
    dataflow: Literal["os", "ws", "is"] = Field("os", description="output/weight/input "
                                                "stationary")
    buffers: Buffers
    offchip: Offchip
    vector_unit: VectorUnit = VectorUnit(lanes=32)
    router_unit: RouterUnit | None = Field(None, description="dedicated unit for predictor, "
                                           "router and gate ops (e.g. a routing network)")


class GpuChip(ChipBase):
    """A GPU: SMs with tensor cores, shared memory, an L2 and DRAM/HBM (kernel model in
    :mod:`hwsim.engine.gpu.analytic`). Efficiency fields are calibrated ceilings, cited in
    ``sources``."""

    kind: Literal["gpu"] = "gpu"
    sparse_features: SparseFeatures = SparseFeatures()
    sms: int = Field(ge=1, description="streaming multiprocessors")
    tensor_flops_per_s: dict[Dtype, Positive] = Field(description="dense tensor-core FLOP/s")
    tensor_flops_sparse_per_s: dict[Dtype, Positive] = Field(default_factory=dict,
                                                             description="2:4 sparse FLOP/s")
    cuda_flops_per_s: dict[Dtype, Positive] = Field(default_factory=dict,
                                                    description="CUDA-core FLOP/s")
    smem_bytes_per_sm: int = Field(ge=0, description="shared memory per SM, bytes")
    l1_smem_bytes_per_sm: int | None = Field(None, ge=0, description="combined L1 / shared "
                                             "memory array per SM, bytes")
    register_file_bytes_per_sm: int | None = Field(None, ge=0, description="register file per "
                                                   "SM, bytes")
    l2_bytes: int = Field(ge=0, description="L2 capacity, bytes")
    l2_bw_bytes_per_s: Positive | None = Field(None, description="L2 read bandwidth, bytes per "
                                               "second (unset: 3x the DRAM bandwidth)")
    offchip: Offchip
    launch_overhead_s: float = Field(4e-6, ge=0, description="kernel launch overhead, s")
    tdp_w: Positive = Field(description="board power limit, W")
    idle_power_w: float = Field(0.0, ge=0, description="idle power, W")
    die_area_mm2: float | None = Field(None, gt=0, description="GPU die area, mm^2")
    gemm_efficiency: float = Field(0.9, gt=0, le=1, description="fraction of tensor-core peak "
                                   "a large GEMM's tiles sustain (calibrated ceiling)")
    dram_efficiency: float = Field(0.85, gt=0, le=1, description="fraction of peak DRAM "
                                   "bandwidth a streaming kernel sustains (calibrated)")
    sparse_kernel_efficiency: float = Field(0.7, gt=0, le=1, description="fraction of the "
                                            "dense kernel's roofline a 2:4 sparse kernel "
                                            "reaches (calibrated)")
    gather_efficiency: float = Field(1.0, gt=0, le=1, description="fraction of streaming "
                                     "bandwidth a gather-GEMM keeps while reading only active "
                                     "weight rows (calibrated, TEAL)")
    cuda_graphs: bool = Field(False, description="kernels are replayed from a CUDA graph "
                              "(torch.compile mode='reduce-overhead', llama.cpp since 2024): "
                              "each kernel costs graph_kernel_overhead_s instead of "
                              "launch_overhead_s")
    graph_kernel_overhead_s: float = Field(6.73e-6, ge=0, description="fixed time per kernel "
                                           "inside a CUDA graph (inter-kernel gap, pipeline "
                                           "fill and drain), s (fitted)")
    dequant_gemv_efficiency: float = Field(0.865, gt=0, le=1, description="fraction of the "
                                           "streaming rate a weight-only int8 GEMV (W8A16, "
                                           "dequantised on CUDA cores) keeps (fitted)")
    convert_per_clk_per_sm: float = Field(16.0, gt=0, description="int-to-float conversions "
                                          "per clock per SM (CUDA C++ Programming Guide, "
                                          "arithmetic instruction throughput)")
    max_threads_per_sm: int = Field(2048, ge=32, le=4096, description="resident threads per "
                                    "SM (CUDA C++ Programming Guide, compute capabilities)")


class NpuSpec(StrictModel):
    """An Ethos-U-class NPU next to the core (cost model in :mod:`hwsim.engine.mcu.npu`)."""

    macs_per_cycle: int = Field(ge=1, description="int8 MACs per cycle")
    clock_hz: Positive
    axi_bytes_per_cycle: int = Field(ge=1, description="AXI bus width, bytes per cycle")
    product: Literal["ethos-u55", "ethos-u65"] = Field("ethos-u55", description="NPU family")
    weight_memory: WeightMemory = Field(
        "flash", description="where the compiled weights live (Vela's memory mode)")
    weight_clock_scale: float = Field(1.0, gt=0, le=1, description="clock of the weight "
                                      "memory's AXI port relative to the NPU clock (Vela's "
                                      "<memory>_clock_scale)")
    sram_clock_scale: float = Field(1.0, gt=0, le=1, description="clock of the SRAM AXI port "
                                    "relative to the NPU clock")


class McuChip(ChipBase):
    """A microcontroller, optionally with an NPU (cost model in
    :mod:`hwsim.engine.mcu.analytic`)."""

    kind: Literal["mcu"] = "mcu"
    core: str = Field(description="core class, e.g. cortex-m4")
    macs_per_cycle: dict[Dtype, Positive] = Field(description="SIMD MACs per cycle per dtype")
    sram_bytes: int = Field(ge=1, description="on-chip SRAM/TCM, bytes")
    flash_bytes: int = Field(ge=1, description="on-chip flash, bytes")
    flash_wait_states: int = Field(0, ge=0)
    kernel_library: Literal["tflm-reference", "cmsis-nn", "vendor-optimized"] = "cmsis-nn"
    active_ua_per_mhz: Positive = Field(description="active current per MHz, µA/MHz")
    supply_v: Positive = Field(description="supply voltage, V")
    sleep_power_w: float = Field(0.0, ge=0)
    npu: NpuSpec | None = None
    core_cycle_scale: float = Field(1.0, gt=0, description="core cycles relative to a "
                                    "Cortex-M4 running the same kernel library (calibrated on "
                                    "MLPerf Tiny; 1.0 for cores without measurements)")
    flash_line_bytes: int = Field(16, ge=1, description="bytes one flash read access returns "
                                  "(the flash interface width); weights streamed from flash "
                                  "cost (wait states + 1) cycles per line")
    tcm_bytes: int = Field(0, ge=0, description="tightly coupled memory within sram_bytes, "
                           "bytes")
    cache_bytes: int = Field(0, ge=0, description="core data + instruction cache, bytes")
    npu_only: bool = Field(False, description="the preset describes the NPU alone: every op "
                           "runs on it and the host core's energy is not counted")

    @model_validator(mode="after")
    def _int8_rate(self) -> McuChip:
        if "int8" not in self.macs_per_cycle:
            raise ValueError("macs_per_cycle needs an int8 entry")
        return self


Chip = Annotated[AcceleratorChip | GpuChip | McuChip, Field(discriminator="kind")]
