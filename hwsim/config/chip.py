"""Chip schemas: one document shape with a ``kind`` (accelerator | gpu | mcu).

Fields carry units in their names and a description. Every preset cites its sources in
``sources`` (field path -> citation) so a number can always be traced to a paper or datasheet.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.ethosu import (
    AXI_BYTES_PER_CYCLE,
    DEFAULT_MEMORY_MODE,
    MAC_CONFIGS,
    MemoryMode,
    NpuProduct,
    cores,
)
from hwsim.units import OffchipKind, TensorDtype, UnitDtype, WeightMemory

# Kernel libraries and runtimes with fitted constants (configs/calibration/mcu.yaml; a test keeps
# the two lists equal). vendor-optimized, plumerai and x-cube-ai are aliases there.
KernelLibrary = Literal["tflm-reference", "cmsis-nn", "vendor-optimized", "plumerai-2022",
                        "plumerai-2023", "plumerai", "x-cube-ai-7", "x-cube-ai-8",
                        "x-cube-ai-9", "x-cube-ai", "bosch-hale"]
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


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
    weight_skipping: bool = Field(False, description="with zero_skipping: zero weights are "
                                  "skipped too (both-sided sparsity: a product issues only when "
                                  "both operands are nonzero) and weights are stored compressed "
                                  "(index_format metadata per nonzero)")
    pe_join: Literal["intersect", "cartesian"] = Field(
        "intersect", description="how a PE pairs nonzero weights with nonzero activations under "
        "weight_skipping: intersect (Eyeriss v2 CSC, SparTen bitmask inner join: one useful "
        "product per MAC per cycle) or cartesian (SCNN: an F x I multiplier array multiplies "
        "every nonzero weight vector by every nonzero activation vector of an input channel)")
    cartesian_f: int = Field(4, ge=1, le=64, description="pe_join=cartesian: nonzero weights "
                             "per multiplier-array row vector (SCNN's F)")
    cartesian_i: int = Field(4, ge=1, le=64, description="pe_join=cartesian: nonzero "
                             "activations per multiplier-array column vector (SCNN's I)")
    accumulator_banks: int = Field(32, ge=1, le=1024, description="pe_join=cartesian: "
                                   "accumulator banks the F x I products scatter to; fewer "
                                   "banks than products per cycle throttle the array")
    output_group: int = Field(8, ge=1, le=4096, description="pe_join=cartesian: output "
                              "channels per group (SCNN's Kc) whose weights form one input "
                              "channel's weight vector stream")
    activation_group: int | None = Field(
        None, ge=1, le=4096, description="pe_join=cartesian: activations (output rows) per "
        "group whose products one accumulator tile holds, so an input channel's activation "
        "vector stream is at most this long (DSTC: 32 rows of a 32x32 output tile); unset: the "
        "PE's whole planar tile of activations (SCNN)")
    load_balance: Literal["none", "greedy"] = Field(
        "none", description="pe_join=intersect on an output-stationary array: none, a fold "
        "lasts as long as its busiest lane; greedy (SparTen), work is spread so a fold lasts "
        "the mean lane's work")
    offchip_compression: Literal["none", "rle"] = Field(
        "none", description="activations stored off chip run-length coded (Eyeriss: 5-bit zero "
        "runs with 16-bit values, three pairs per 64-bit word): sparse ifmaps move fewer bytes "
        "even on a chip that does not skip zeros")


class GpuSparseFeatures(StrictModel):
    """What a GPU's kernels can do with zeros: 2:4 sparse tensor cores and gather-GEMM
    kernels. Zero gating/skipping and index formats are PE-array features with no GPU
    counterpart, so the GPU schema does not carry them."""

    gather: bool = Field(False, description="gather-GEMM kernels (Deja Vu / TEAL) read only "
                         "the weight rows some token needs")
    nm: tuple[int, int] | None = Field(None, description="N:M structured support of the "
                                       "tensor cores, e.g. [2, 4]")


class Array(StrictModel):
    rows: int = Field(ge=1, le=4096, description="PE rows of the systolic array")
    cols: int = Field(ge=1, le=4096, description="PE columns of the systolic array")
    dtype: UnitDtype = Field("int8", description="operand data type of the MAC units")
    systolic: bool = Field(True, description="os/ws/is: operands shift from PE to PE, so every "
                           "fold pays "
                           "fill, skew and drain (SCALE-Sim's timing); false: they are "
                           "broadcast over a bus (Eyeriss's multicast network) and a fold lasts "
                           "its temporal extent")
    accumulator_bytes: int = Field(4, ge=1, le=8, description="width of a partial sum, "
                                   "bytes: what spilled partial sums and the psum scratchpad "
                                   "move")
    mac_energy_pj: float | None = Field(None, gt=0, description="energy of one MAC, pJ, when "
                                        "a measurement or a peer's model gives it (cite it in "
                                        "sources); unset: the tech table's multiply + add")


class AccessEnergies(StrictModel):
    """Per-byte access energies that replace the tech table's for one memory (a measured chip,
    or a peer simulator's description translated into hwsim)."""

    read_energy_pj_per_byte: float | None = Field(None, gt=0, description="read energy, pJ "
                                                  "per byte; unset: the tech table's")
    write_energy_pj_per_byte: float | None = Field(None, gt=0, description="write energy, pJ "
                                                   "per byte; unset: the tech table's")


class Buffer(AccessEnergies):
    """An on-chip SRAM scratchpad, double-buffered (half holds the tile in use)."""

    size_bytes: int = Field(ge=64, description="capacity in bytes")


class PeRegisterFiles(AccessEnergies):
    """Scratchpads inside every PE (Eyeriss v1: 12 ifmap, 224 filter and 24 psum 16-bit
    words). Each MAC then reads its operands and partial sum from them and writes the sum back,
    and every ifmap and weight byte the array reads from the global buffers is written into
    them; the row-stationary dataflow sizes its reuse by them. Unset energies: the tech table's
    register-file energy."""

    ifmap_bytes: int = Field(ge=1, description="ifmap scratchpad per PE, bytes")
    filter_bytes: int = Field(ge=1, description="filter scratchpad per PE, bytes")
    psum_bytes: int = Field(ge=1, description="partial-sum scratchpad per PE, bytes")
    psum_read_energy_pj_per_byte: float | None = Field(
        None, gt=0, description="partial-sum scratchpad read energy, pJ per byte, when it "
        "differs from the ifmap/filter scratchpads'; unset: read_energy_pj_per_byte")
    psum_write_energy_pj_per_byte: float | None = Field(
        None, gt=0, description="partial-sum scratchpad write energy, pJ per byte; unset: "
        "write_energy_pj_per_byte")


class Buffers(StrictModel):
    ifmap: Buffer = Field(description="input activation SRAM")
    filter: Buffer = Field(description="weight SRAM")
    ofmap: Buffer = Field(description="output / partial-sum SRAM")
    ifmap_ofmap_shared: bool = Field(False, description="ifmap and ofmap are one SRAM (a global "
                                     "buffer such as Eyeriss's) of their summed size, split "
                                     "per layer as the mapper's tiles need")


class Offchip(StrictModel):
    """The off-chip memory level (DRAM, HBM or flash)."""

    kind: OffchipKind = Field(description="technology, sets energy per bit from the tech table")
    bw_bytes_per_s: Positive = Field(description="sustained bandwidth, bytes per second")
    size_bytes: int | None = Field(None, ge=1, description="capacity in bytes (for fit checks)")
    burst_bytes: int = Field(64, ge=1, le=4096, description="smallest transfer, bytes (a DDR4 "
                             "x64 burst of 8 is 64 B): a gathered row costs whole bursts")


class AcceleratorOffchip(Offchip):
    energy_pj_per_byte: float | None = Field(None, gt=0, description="energy per byte moved "
                                             "off chip, pJ, when measured or given by a peer's "
                                             "model; unset: the tech table's for this kind")


class GpuOffchip(Offchip):
    energy_pj_per_byte: float | None = Field(
        None, gt=0, description="energy per byte moved between the GPU and its DRAM over the "
        "whole path (DRAM device, PHY, memory controller, on-die network), pJ, when measured or "
        "fitted for this GPU; unset: the tech table's per-bit energy for this kind x 8, times "
        "the fitted HBM3-generation path multiplier (configs/calibration/gpu.yaml "
        "hbm3_energy_scale) for hbm3 and hbm3e")


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

    def to_doc(self) -> dict[str, Any]:
        """The chip as a config document that validates back to it. Fields a validator derives
        from another field are left out, so an override of that field derives them again."""
        return self.model_dump(mode="json")


class AcceleratorChip(ChipBase):
    """A systolic / PE-array accelerator with SCALE-Sim-style ifmap/filter/ofmap buffers."""

    kind: Literal["accelerator"] = "accelerator"
    # Static power and zero handling are per kind: a GPU has idle_power_w, an MCU sleep_power_w,
    # and the MCU kernels (CMSIS-NN, TFLM, Vela) have no zero-skipping or gather path.
    static_power_w: float | None = Field(None, ge=0, description="measured static/idle power, W; "
                                         "when unset it comes from the tech table's leakage")
    sparse_features: SparseFeatures = SparseFeatures()
    array: Array
    dataflow: Literal["os", "ws", "is", "rs"] = Field(
        "os", description="output/weight/input stationary systolic array, or row-stationary "
        "(Eyeriss: 1-D row convolutions in PEs with scratchpads; needs pe_register_files)")
    pe_register_files: PeRegisterFiles | None = Field(
        None, description="scratchpads inside each PE; unset: a systolic array whose PEs hold "
        "one operand in pipeline registers")
    mapping_objective: Literal["energy", "latency", "edp"] = Field(
        "energy", description="what the mapper minimises when it picks each layer's tiling and "
        "loop order: off-chip bytes (energy), estimated cycles (latency), or their product "
        "(energy-delay product)")
    buffers: Buffers
    offchip: AcceleratorOffchip
    vector_unit: VectorUnit = VectorUnit(lanes=32)
    router_unit: RouterUnit | None = Field(None, description="dedicated unit for predictor, "
                                           "router and gate ops (e.g. a routing network)")

    @model_validator(mode="after")
    def _row_stationary(self) -> AcceleratorChip:
        if self.dataflow == "rs" and self.pe_register_files is None:
            raise ValueError("dataflow 'rs' (row-stationary) keeps filter and ifmap rows in PE "
                             "scratchpads: set pe_register_files {ifmap_bytes, filter_bytes, "
                             "psum_bytes}")
        if self.dataflow == "rs" and self.sparse_features.zero_skipping:
            raise ValueError("a row-stationary array in hwsim gates zeros (zero_gating) but does "
                             "not skip them: set sparse_features.zero_skipping: false")
        return self


# Sides of cuBLAS's SIMT sgemm CTA tiles (ampere_sgemm_128x64, volta_sgemm_32x128, ...).
SGEMM_TILE_SIDES = (32, 64, 128)


class GpuChip(ChipBase):
    """A GPU: SMs with tensor cores, shared memory, an L2 and DRAM/HBM (kernel model in
    :mod:`hwsim.engine.gpu.analytic`). Efficiency fields are calibrated ceilings, cited in
    ``sources``."""

    kind: Literal["gpu"] = "gpu"
    sparse_features: GpuSparseFeatures = GpuSparseFeatures()
    sms: int = Field(ge=1, description="streaming multiprocessors")
    boost_clock_hz: Positive | None = Field(None, description="datasheet boost clock, Hz: "
                                            "a large dense GEMM draws tdp_w at this clock, "
                                            "so per-FLOP energies are calibrated here and a "
                                            "clock_hz above it is power-throttled (unset: "
                                            "clock_hz)")
    tensor_flops_per_clk_per_sm: dict[TensorDtype, Positive] = Field(
        description="dense tensor-core FLOP per clock per SM, by dtype (x sms x clock_hz = "
        "the datasheet peak)")
    tensor_flops_sparse_per_clk_per_sm: dict[TensorDtype, Positive] = Field(
        default_factory=dict, description="2:4 sparse tensor-core FLOP per clock per SM "
        "(dense-equivalent, as datasheets count them), by dtype; a dtype not listed runs 2:4 "
        "work at twice its dense rate")
    cuda_flops_per_clk_per_sm: Positive = Field(description="CUDA-core FP32 FLOP per clock "
                                                "per SM (2 x FP32 lanes, one FMA each); "
                                                "elementwise math in every dtype runs at it")
    smem_bytes_per_sm: int = Field(ge=0, description="shared memory per SM, bytes")
    l1_smem_bytes_per_sm: int | None = Field(None, ge=0, description="combined L1 / shared "
                                             "memory array per SM, bytes")
    register_file_bytes_per_sm: int | None = Field(None, ge=0, description="register file per "
                                                   "SM, bytes")
    mma_shape_mnk: tuple[PositiveInt, PositiveInt, PositiveInt] = Field(
        (16, 8, 16), description="m, n, k of the half-precision tensor-core MMA instruction, "
        "whose register operands are shared by its m*n*k multiply-adds: sets the tensor path's "
        "energy per FLOP against the SIMT FP32 path's (hwsim.engine.gpu.path_energy); "
        "default mma.m16n8k16, the shape of SM80 and later (PTX ISA, warp-level MMA shapes)")
    l2_bytes: int = Field(ge=0, description="L2 capacity, bytes")
    l2_bytes_per_clk: Positive | None = Field(None, description="L2 read bandwidth of the whole "
                                              "chip, bytes per core clock (unset: A100's per-SM "
                                              "figure x sms)")
    offchip: GpuOffchip
    launch_overhead_s: float = Field(4e-6, ge=0, description="kernel launch overhead, s")
    tdp_w: Positive = Field(description="power limit of the GPU itself, W (a card's board "
                            "power; an SoC's GPU-rail budget): caps GPU kernels on a sustained "
                            "load, and a large dense GEMM is calibrated to draw it held "
                            "at that limit, at boost_clock_hz / power_limit_slowdown and that "
                            "clock's voltage (dvfs_voltage_slope)")
    module_power_w: Positive | None = Field(
        None, description="whole-module power budget of an SoC (GPU, CPU, accelerators, "
        "memory), W", json_schema_extra={"informational": "hwsim models the GPU alone, whose "
                                         "budget is tdp_w; the module figure is kept for "
                                         "reference"})
    power_limit_w: Positive | None = Field(
        None, description="enforced power cap, W (nvidia-smi -pl, a Jetson mode's GPU budget): a "
        "kernel above it runs at a lower clock, where its per-action energies fall with the "
        "voltage (dvfs_voltage_slope); they stay calibrated at tdp_w (unset: tdp_w)")
    power_limit_slowdown: float = Field(
        1.0, ge=1.0, le=2.0, description="how many times slower a large dense bf16 GEMM "
        "(8192^3) runs held at tdp_w than at boost_clock_hz, sustained: it draws tdp_w at "
        "boost_clock_hz / power_limit_slowdown and that clock's voltage (dvfs_voltage_slope), "
        "which sets its power at boost and so the energy per tensor FLOP (1: the board just "
        "sustains its tensor peak at boost; fitted where public sustained and burst timings "
        "of the same GEMMs exist)")
    dvfs_voltage_slope: float | None = Field(
        None, ge=0.0, le=1.0, description="how the supply voltage follows the core clock below "
        "boost_clock_hz (DVFS): V / V_boost = 1 - dvfs_voltage_slope x (1 - clock / "
        "boost_clock_hz); the energies per tensor and CUDA-core FLOP and per shared-memory and "
        "L2 byte, and the active power, scale with (V / V_boost)^2, so a GPU throttled by its "
        "power limit or run at a lower clock_hz spends less per operation (0: one voltage at "
        "every clock; DRAM energy has its own supply and does not scale; unset: the value "
        "fitted in configs/calibration/gpu.yaml)")
    sustained_load: bool = Field(
        True, description="the run is long enough for the board's power management to act "
        "(serving, training, any benchmark over ~0.1 s of load): a kernel above the power "
        "limit runs at a lower clock; false: a burst of a few milliseconds (a benchmark of a "
        "handful of replays) that ends before the clock drops, so every kernel runs at "
        "clock_hz whatever its power")
    power_mode_of: str | None = Field(
        None, description="GPU preset this chip is a power mode of (same silicon with lower "
        "clock, fewer powered SMs or a capped memory clock): per-action energies and active "
        "power per SM come from that preset's calibration, not from this mode's own limit "
        "(unset: calibrated on this chip)")
    math_energy_of: str | None = Field(
        None, description="GPU preset of the same die, else the same process node, whose "
        "energies per FLOP (tensor and CUDA-core) this chip shares, for a power-limited part: "
        "the TDP calibration assumes a board sized to run its hungriest pipe at full clock, "
        "which a low-power card (L4 on an H100's node, T4 on an RTX 2080's die) or a "
        "lower-power board of the same die (A100 and V100 PCIe) is not, so its "
        "own anchor would make its FLOPs implausibly cheap; with the lender's, its limit "
        "throttles the clock (unset: calibrated on this chip's TDP)")
    active_power_of: str | None = Field(
        None, description="GPU preset of the same die whose active power (what any running "
        "kernel draws beyond idle: clock tree, schedulers, uncore, leakage of the warmed die) "
        "this chip draws, per powered SM and at its own boost clock, for a lower-power board "
        "of a die whose power is calibrated on a full-power board (T4 on the RTX 2080's TU104, "
        "A100 and V100 PCIe on their SXM boards' dies); the switching is the die's, not a share "
        "of this board's smaller limit (unset: active_power_fraction of this chip's own TDP "
        "headroom)")
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
    softmax_smem: bool = Field(
        True, description="the framework's standalone softmax keeps a row of up to 48 KB in "
        "shared memory and reads it once (recent PyTorch, cunn_SoftMaxForwardSmem); false: "
        "rows over 1024 elements are read three times (PyTorch before that kernel) - "
        "hwsim.engine.gpu.softmax")
    norm_kernel: Literal["compiled", "eager"] = Field(
        "compiled", description="the framework's row-wise norm kernel: compiled "
        "(torch.compile/Inductor: rows over 1024 elements walked three times, repeats from L1 "
        "while resident rows fit) or eager (ATen vectorized_layer_norm_kernel: one 128-thread "
        "CTA per row read twice, the repeat from L2 while resident rows fit, waves of rows) - "
        "hwsim.engine.gpu.norm")
    attention_kernel: Literal["fa2", "fa3"] = Field(
        "fa2", description="FlashAttention generation the frameworks run: fa3 (warp-specialised "
        "wgmma, Hopper) or fa2 (mma.sync, Ampere/Ada/Turing); sets the attention kernel's tiles "
        "and whether its softmax overlaps its GEMMs (hwsim.engine.gpu.flash)")
    gemm_kernels: Literal["sm80", "sm90", "sm100"] = Field(
        "sm80", description="GEMM kernel generation cuBLAS/CUTLASS run: sm100 (Blackwell "
        "tcgen05: as sm90, and two CTAs on adjacent SMs share one 256-row MMA, each SM "
        "loading its own A rows and half of the pair's B tile; stream-K shares a partial "
        "last wave's K blocks over every SM), sm90 (TMA-fed, "
        "warp-specialised persistent wgmma kernels, Hopper: the epilogue and the next tile's "
        "loads overlap the mainloop) or sm80 (cp.async multistage mma.sync kernels, "
        "Ampere/Ada/Turing: each CTA stores its C tile after its mainloop) - "
        "hwsim.engine.gpu.tensor_gemm")
    int8_weight_only: bool = Field(False, description="int8 weights meet 16-bit activations "
                                   "(weight-only W8A16: gpt-fast int8, TensorRT-LLM "
                                   "weight-only): each weight is dequantised before its "
                                   "multiply-add; false: activations are int8 too (W8A8) "
                                   "on the int8 tensor cores")
    int4_weight_only_kernel: Literal["marlin", "fpa_intb"] = Field(
        "marlin", description="the W4A16 kernel the framework runs for int4 weights: marlin "
        "(vLLM's GPTQ/AWQ path: dequantisation overlapped with the MMAs, split-K) or fpa_intb "
        "(TensorRT-LLM's weight-only plugin, CUTLASS fpA_intB: its own tiles, no split-K, "
        "dequantisation between the MMAs) - hwsim.engine.gpu.fpa_intb")
    dequant_gemv_efficiency: float = Field(0.902, gt=0, le=1, description="fraction of the "
                                           "streaming rate a weight-only int8 kernel (W8A16, "
                                           "dequantised in the SM) keeps (fitted)")
    batched_sgemm_tile: tuple[int, int] | None = Field(
        None, description="CTA tile (rows, columns) the library runs every fp32 batched GEMM "
        "(cuBLAS strided-batched sgemm, torch.bmm) with on this GPU; each in 32, 64, 128 "
        "(unset: the fastest tile of the SIMT candidate set) - hwsim.engine.gpu.tensor_gemm")
    convert_per_clk_per_sm: float = Field(16.0, gt=0, description="int-to-float conversions "
                                          "per clock per SM (CUDA C++ Programming Guide, "
                                          "arithmetic instruction throughput)")
    max_threads_per_sm: int = Field(2048, ge=32, le=4096, description="resident threads per "
                                    "SM (CUDA C++ Programming Guide, compute capabilities)")

    @field_validator("batched_sgemm_tile")
    @classmethod
    def _sgemm_tile(cls, tile: tuple[int, int] | None) -> tuple[int, int] | None:
        # cuBLAS's SIMT sgemm kernels come in these sides (hwsim.engine.gpu.gemm_tiles).
        if tile is not None and not all(side in SGEMM_TILE_SIDES for side in tile):
            raise ValueError(f"batched_sgemm_tile {list(tile)}: each side must be one of "
                             f"{list(SGEMM_TILE_SIDES)} (a cuBLAS sgemm CTA tile, e.g. "
                             "[128, 128])")
        return tile


class NpuSpec(StrictModel):
    """An Ethos-U-class NPU next to the core (cost model in :mod:`hwsim.engine.mcu.npu`).

    ``product`` fixes what Vela 5.2.0 fixes per product (:mod:`hwsim.config.ethosu`): the AXI
    width, the MAC configurations and the default memory mode."""

    product: NpuProduct = Field("ethos-u55", description="NPU family: sets the AXI width "
                                "(U55 64-bit, U65 128-bit), the allowed MAC configurations "
                                "(U55 32-256, U65 256 or 512 as two cores) and the default "
                                "memory mode (Vela 5.2.0)")
    macs_per_cycle: int = Field(ge=1, description="int8 MACs per cycle (a MAC configuration "
                                "of the product)")
    # These three may be omitted (default None): the validators fill them before validation.
    clock_hz: Positive = Field(None, description="NPU clock, Hz (when omitted: the chip's "  # type: ignore[assignment]
                               "clock_hz)")
    axi_bytes_per_cycle: int = Field(None, ge=1, description="AXI port width, bytes per "  # type: ignore[assignment]
                                     "cycle (when omitted: the product's, U55 8, U65 16)")
    memory_mode: MemoryMode = Field(None, description="Vela's memory mode (when omitted: the "  # type: ignore[assignment]
                                    "product's, U55 Shared_Sram, U65 Dedicated_Sram). "
                                    "Sram_Only: weights and feature maps on the SRAM port; "
                                    "Shared_Sram: weights on the AXI1 memory, feature maps in "
                                    "SRAM; Dedicated_Sram: weights and feature maps in the AXI1 "
                                    "DRAM, the chip's sram_bytes an NPU-only cache that holds "
                                    "an op's feature maps when they fit")
    weight_memory: WeightMemory = Field(
        "flash", description="the memory on the NPU's AXI1 port (Vela's axi1_port): holds the "
        "weights in Shared_Sram and Dedicated_Sram and the feature maps in Dedicated_Sram; "
        "unused in Sram_Only")
    weight_clock_scale: float = Field(1.0, gt=0, le=1, description="clock of the AXI1 memory "
                                      "relative to the NPU clock (Vela's "
                                      "<memory>_clock_scale); unused in Sram_Only")
    sram_clock_scale: float = Field(1.0, gt=0, le=1, description="clock of the SRAM AXI port "
                                    "relative to the NPU clock")

    @model_validator(mode="before")
    @classmethod
    def _product_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v is not None}  # None: the product's default
        product = data.get("product", "ethos-u55")
        if data.get("weight_memory") == "sram":
            raise ValueError("npu.weight_memory: sram is now npu.memory_mode: Sram_Only "
                             "(Vela's memory mode with weights and feature maps in SRAM)")
        if product in AXI_BYTES_PER_CYCLE:
            data = {"axi_bytes_per_cycle": AXI_BYTES_PER_CYCLE[product],
                    "memory_mode": DEFAULT_MEMORY_MODE[product], **data}
            if data.get("memory_mode") == "Dedicated_Sram" and "weight_memory" not in data:
                data["weight_memory"] = "dram"
        return data

    @model_validator(mode="after")
    def _vela_rules(self) -> NpuSpec:
        if self.macs_per_cycle not in MAC_CONFIGS[self.product]:
            raise ValueError(f"npu.macs_per_cycle {self.macs_per_cycle} is not a MAC "
                             f"configuration of the {self.product}: use one of "
                             f"{list(MAC_CONFIGS[self.product])} (Vela 5.2.0)")
        if self.memory_mode == "Dedicated_Sram" and self.weight_memory != "dram":
            raise ValueError("npu.memory_mode Dedicated_Sram keeps the feature maps in the AXI1 "
                             "memory, which must be writable: set npu.weight_memory: dram "
                             "(Vela rejects a flash there)")
        return self

    @property
    def cores(self) -> int:
        """NPU cores of the MAC configuration (U65-512: two cores of 256 MACs)."""
        return cores(self.product, self.macs_per_cycle)


# Fields that describe the host core: required (or defaulted) on a chip with one, absent on an
# NPU-only preset, where nothing could read them.
HOST_REQUIRED = ("core", "macs_per_cycle", "active_ua_per_mhz", "supply_v")
HOST_DEFAULTS: dict[str, Any] = {"flash_wait_states": 0, "kernel_library": "cmsis-nn",
                                 "sleep_power_w": 0.0, "board_power_w": 0.0,
                                 "core_cycle_scale": 1.0,
                                 "flash_line_bytes": 16, "tcm_bytes": 0, "cache_bytes": 0}
HOST = " (host core; absent on npu_only presets)"


class McuChip(ChipBase):
    """A microcontroller, optionally with an NPU (cost model in
    :mod:`hwsim.engine.mcu.analytic`). An ``npu_only`` preset describes the NPU alone: it
    carries no host-core fields, and its ``clock_hz`` is the NPU clock."""

    kind: Literal["mcu"] = "mcu"
    npu_only: bool = Field(False, description="the preset describes the NPU alone: every op "
                           "runs on it, there is no host core (its fields are absent) and "
                           "clock_hz is the NPU clock")
    sram_bytes: int = Field(ge=1, description="on-chip SRAM, bytes: the activation arena "
                            "(with an NPU in Dedicated_Sram mode: the NPU's SRAM cache, Vela's "
                            "arena_cache_size)")
    flash_bytes: int = Field(ge=1, description="on-chip flash (for an NPU: its AXI1 memory), "
                             "bytes")
    npu: NpuSpec | None = None
    core: str | None = Field(None, description="core class, e.g. cortex-m4" + HOST)
    macs_per_cycle: dict[UnitDtype, Positive] | None = Field(
        None, description="SIMD MACs per cycle per dtype" + HOST)
    flash_wait_states: int | None = Field(None, ge=0, description="flash wait states at "
                                          "clock_hz (default 0)" + HOST)
    kernel_library: KernelLibrary | None = Field(
        None, description="kernel library the core runs (default cmsis-nn; fitted constants in "
        "configs/calibration/mcu.yaml)" + HOST)
    active_ua_per_mhz: Positive | None = Field(None, description="active current per MHz, "
                                               "µA/MHz" + HOST)
    supply_v: Positive | None = Field(None, description="supply voltage, V" + HOST)
    board_power_w: float | None = Field(None, description="supply power beyond the core's "
                                        "datasheet run current while the core runs, W: static, "
                                        "regulator and peripheral draw as measured at the "
                                        "board's supply (MLPerf Tiny EnergyRunner; fitted in "
                                        "configs/calibration/mcu.yaml board_power; default 0)"
                                        + HOST)
    sleep_power_w: float | None = Field(None, ge=0, description="power while the core sleeps, "
                                        "W (default 0)" + HOST)
    core_cycle_scale: float | None = Field(None, gt=0, description="core cycles relative to a "
                                           "Cortex-M4 running the same kernel library "
                                           "(calibrated on MLPerf Tiny; default 1.0)" + HOST)
    flash_line_bytes: int | None = Field(None, ge=1, description="bytes one flash read access "
                                         "returns (the flash interface width); weights streamed "
                                         "from flash cost (wait states + 1) cycles per line "
                                         "(default 16)" + HOST)
    tcm_bytes: int | None = Field(None, ge=0, description="tightly coupled memory within "
                                  "sram_bytes, bytes: FC weights that fit (in model order) are "
                                  "copied there and read without flash wait states "
                                  "(default 0)" + HOST)
    cache_bytes: int | None = Field(None, ge=0, description="core data + instruction cache, "
                                    "bytes: weights re-read within an op (recurrent steps, "
                                    "several rows) stall on flash once when the op's weights "
                                    "fit (default 0)" + HOST)

    @model_validator(mode="before")
    @classmethod
    def _host_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not data.get("npu_only", False):
            missing = [f for f in HOST_REQUIRED if data.get(f) is None]
            if missing:
                raise ValueError(f"missing host-core field(s) {', '.join(missing)}: a chip "
                                 "with a core needs them (or set npu_only: true)")
            data = {**HOST_DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
            npu = data.get("npu")
            if isinstance(npu, dict) and "clock_hz" not in npu:
                data["npu"] = {**npu, "clock_hz": data.get("clock_hz")}
            return data
        present = [f for f in (*HOST_REQUIRED, *HOST_DEFAULTS) if data.get(f) is not None]
        if present:
            raise ValueError(f"npu_only preset carries host-core field(s) {', '.join(present)} "
                             "that nothing reads: remove them (an NPU-only preset has no core)")
        npu = data.get("npu")
        if not isinstance(npu, dict):
            raise ValueError("npu_only: true needs an npu section")
        if npu.get("clock_hz") is not None and npu["clock_hz"] != data.get("clock_hz"):
            raise ValueError("npu_only: clock_hz is the NPU clock; remove npu.clock_hz "
                             f"({npu['clock_hz']}) or make it equal to clock_hz")
        return {**data, "npu": {**npu, "clock_hz": data.get("clock_hz")}}

    def to_doc(self) -> dict[str, Any]:
        doc = super().to_doc()
        if self.npu_only and isinstance(doc.get("npu"), dict):
            doc["npu"].pop("clock_hz", None)  # an NPU-only chip's NPU clock is its clock_hz
        return doc

    @model_validator(mode="after")
    def _int8_rate(self) -> McuChip:
        if self.macs_per_cycle is not None and "int8" not in self.macs_per_cycle:
            raise ValueError("macs_per_cycle needs an int8 entry")
        return self


Chip = Annotated[AcceleratorChip | GpuChip | McuChip, Field(discriminator="kind")]
