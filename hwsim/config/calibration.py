"""Schema of fitted calibration constants (``configs/calibration/*.yaml``).

A fitted constant is not a datasheet figure: each entry says what it was fitted on
(``fitted_on``: the measurements, their files) and how (``source``: method, bounds, caveats), so
a reader can re-do the fit (:mod:`hwsim.calibration.mcu`) and check it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel


class Fitted(StrictModel):
    """Provenance of one fitted constant or jointly fitted set."""

    source: str = Field(min_length=1, description="how it was fitted (method, bounds, caveats)")
    fitted_on: str = Field(min_length=1, description="the measurements it was fitted on, with "
                           "their reference files")


class CoreKernelsFit(Fitted):
    """Cycles of a kernel library on a Cortex-M4 (core_cycle_scale 1), per unit of work."""

    conv_cycles_per_mac: float = Field(gt=0)
    depthwise_cycles_per_mac: float = Field(gt=0)
    fc_cycles_per_mac: float = Field(gt=0)
    per_output_cycles: float = Field(gt=0)
    vector_cycles_per_op: float = Field(gt=0)


class ScaledLibraryFit(Fitted):
    """A library calibrated as one factor on another library's constants."""

    base: str = Field(description="the library whose constants are scaled")
    factor: float = Field(gt=0, description="every cycles-per-unit constant of the base times it")
    fitted_models: tuple[str, ...] = Field(description="MLPerf Tiny models in the fit (the "
                                           "others are held out)")


class RuntimeLibraryFit(Fitted):
    """A vendor runtime calibrated as per-kernel-kind factors on another library's constants
    (conv, depthwise, and one factor for FC, per-output and vector costs), fitted on the named
    MLPerf Tiny rows of one board; its other boards and rounds are held out."""

    base: str = Field(description="the library whose constants are scaled")
    conv_factor: float = Field(gt=0, description="times the base's conv cycles per MAC")
    depthwise_factor: float = Field(gt=0, description="times the base's depthwise cycles/MAC")
    other_factor: float = Field(gt=0, description="times the base's FC cycles per MAC, "
                                "per-output and vector cycles")
    fitted_rows: tuple[str, ...] = Field(min_length=1, description="the MLPerf Tiny rows "
                                         "(round/submitter/system/model of "
                                         "mlperf_tiny_rounds.csv) the factors were fitted on")


class BoardPowerFit(Fitted):
    """Supply power of a board beyond its core's datasheet run current (a preset's
    ``board_power_w``), from MLPerf Tiny energy per inference / latency."""

    value_w: float = Field(description="W; may be negative where the datasheet overstates")
    chips: tuple[str, ...] = Field(description="chip presets that carry this value")


class CoreCycleScaleFit(Fitted):
    """Core cycles relative to the Cortex-M4 anchor (a chip preset's ``core_cycle_scale``)."""

    value: float = Field(gt=0)
    chips: tuple[str, ...] = Field(description="chip presets that carry this value")


class NpuKernelsFit(Fitted):
    """Ethos-U cycle-model constants (:class:`hwsim.engine.mcu.library.NpuKernels`)."""

    conv_efficiency: float = Field(gt=0)
    depthwise_efficiency: float = Field(gt=0)
    fc_efficiency: float = Field(gt=0)
    scale_exponent: float = Field(ge=0)
    vector_elements_per_mac_lane: float = Field(gt=0)
    dense_weight_ratio: float = Field(gt=0)
    zero_weight_ratio: float = Field(gt=0)


class NpuStructuralFit(Fitted):
    """What the structural Ethos-U model (:mod:`hwsim.engine.mcu.ethosu_perf`) leaves unknown:
    Vela's softmax decomposition as a whole and its pooling cost."""

    softmax_cycles_per_element: float = Field(gt=0, description="cycles per input element at "
                                              "a 256-MAC output-stage rate")
    softmax_cycles_per_row: float = Field(ge=0, description="cycles per softmax row (21 "
                                          "passes on one value per row) at the same rate")
    softmax_fixed_cycles: float = Field(ge=0, description="cycles per softmax, any size")
    pool_cycle_factor: float = Field(gt=0, description="Vela 5.2.0's pooling MAC cycles over "
                                     "the structural model's")
    block_overhead_cycles: float = Field(ge=0, description="NPU cycles per output block of an "
                                         "op on the MAC array")
    op_overhead_cycles: float = Field(ge=0, description="NPU cycles per op on the MAC array")
    weight_dense_ratio: float = Field(gt=0, description="Vela's encoded / raw bytes of non-zero "
                                      "weights")
    weight_zero_ratio: float = Field(gt=0, description="... of zero weights")


class McuCalibration(StrictModel):
    """``configs/calibration/mcu.yaml``: every fitted constant of the MCU core and NPU models."""

    schema_version: Literal[1] = 1
    description: str
    core_kernels: dict[str, CoreKernelsFit]
    scaled_libraries: dict[str, ScaledLibraryFit]
    runtime_libraries: dict[str, RuntimeLibraryFit] = Field(default_factory=dict)
    library_aliases: dict[str, str] = Field(default_factory=dict, description="alias -> "
                                            "library name (e.g. vendor-optimized)")
    board_power: dict[str, BoardPowerFit] = Field(default_factory=dict)
    core_cycle_scales: dict[str, CoreCycleScaleFit]
    npu_kernels: NpuKernelsFit
    npu_structural: NpuStructuralFit


class GpuPowerConstant(StrictModel):
    """One constant of the GPU power model (:mod:`hwsim.engine.gpu.energy`). A ``fitted`` one
    names the rows it was fitted on; an ``assumption`` names none and says in ``source`` why
    no fit was possible, so a reader never mistakes it for a measurement."""

    value: float = Field(ge=0)
    unit: str = Field(min_length=1)
    status: Literal["fitted", "assumption"]
    source: str = Field(min_length=1, description="how it was fitted, or why it is assumed")
    fitted_on: str = Field("", description="the measurement rows it was fitted on, with their "
                           "reference file (empty for an assumption)")

    @model_validator(mode="after")
    def _provenance(self) -> GpuPowerConstant:
        if self.status == "fitted" and not self.fitted_on.strip():
            raise ValueError("a fitted constant must name the rows it was fitted on "
                             "(fitted_on)")
        if self.status == "assumption" and self.fitted_on.strip():
            raise ValueError("an assumption was fitted on nothing: leave fitted_on empty or "
                             "set status: fitted")
        return self


class GpuCalibration(StrictModel):
    """``configs/calibration/gpu.yaml``: the constants of the GPU power model."""

    schema_version: Literal[1] = 1
    description: str
    active_power_fraction: GpuPowerConstant = Field(
        description="busy power beyond idle of a GPU running any kernel, as a fraction of "
        "tdp_w - idle_power_w, at boost_clock_hz")
    kernels: dict[str, GpuPowerConstant] = Field(
        default_factory=dict, description="kernel-timing constants shared by every GPU "
        "(FlashAttention mainloop efficiencies, per-CTA and per-kernel fixed costs, norm "
        "kernels), read by hwsim.engine.gpu.kernel_constants")

    hbm3_energy_scale: GpuPowerConstant = Field(
        description="multiplier on the technology table's HBM3 and HBM3E energy per bit (HBM3 "
        "is the kind the power rows measured; HBM3E keeps its interface); other memory kinds "
        "keep their table values")
    power_response_s: GpuPowerConstant = Field(
        description="time a board runs at boost clock under a load above its power limit "
        "before its power management lowers the clock, s: how much of a benchmark burst runs "
        "at the limit (hwsim.validation.burst; the engine's sustained_load is the steady state)")
    dvfs_voltage_slope: GpuPowerConstant = Field(
        description="how the supply voltage follows the core clock below boost (DVFS): "
        "V / V_boost = 1 - slope x (1 - clock / boost_clock_hz), so clocked energies per action "
        "and active power scale with (V / V_boost)^2; the default of every GPU preset whose "
        "dvfs_voltage_slope is unset (0: one voltage at every clock)")
    dvfs_min_voltage_ratio: GpuPowerConstant = Field(
        description="the lowest supply voltage of a GPU's voltage-frequency curve, as a "
        "fraction of its boost voltage: below the clock where the slope reaches it, the voltage "
        "stays there and energy per action stops falling")


class GpuGemmCalibration(StrictModel):
    """``configs/calibration/gpu_gemm.yaml``: the GEMM kernel constants shared by every GPU
    (:mod:`hwsim.engine.gpu.gemm_tiles`), each fitted on public kernel timings."""

    schema_version: Literal[1] = 1
    description: str
    simt_tile_fill_cycles: GpuPowerConstant = Field(
        description="cycles per round of co-resident SIMT sgemm CTAs outside their mainloop: "
        "the software pipeline's fill (the first K blocks' global-to-shared latency) and the "
        "epilogue's store")
    tensor_tile_fill_cycles: GpuPowerConstant = Field(
        description="the same for sm80-family tensor-core GEMM CTAs (cp.async multistage "
        "pipelines)")
    sm90_tile_fill_cycles: GpuPowerConstant = Field(
        description="the same for sm90 tensor-core GEMMs (gemm_kernels sm90: TMA-fed "
        "warp-specialised wgmma pipelines)")
    sm100_tile_fill_cycles: GpuPowerConstant = Field(
        description="the same for sm100 tensor-core GEMMs (gemm_kernels sm100: Blackwell's "
        "TMA-fed tcgen05 pipelines, accumulators in tensor memory)")
    sm90_fp8_tile_floor_cycles: GpuPowerConstant = Field(
        description="core-clock cycles each output tile after an SM's first takes at least in "
        "vLLM's CUTLASS fp8 GEMM on sm90 (one CTA per SM walks its tiles in turn: the tile's "
        "epilogue and the next tile's start do not hide under a co-resident CTA's mainloop)")
    simt_mainloop_efficiency: GpuPowerConstant = Field(
        description="share of the FP32 pipes' peak a SIMT sgemm mainloop sustains when issue "
        "slots are not the limit (register-blocked FFMA, shared-memory operand loads)")
    fp8_mainloop_efficiency: GpuPowerConstant = Field(
        description="share of the tensor path's rate (gemm_efficiency x the fp8 peak) an fp8 "
        "GEMM mainloop sustains, relative to a 16-bit one")
    quant_cta_launch_cycles: GpuPowerConstant = Field(
        description="core-clock cycles between the starts of successive CTAs of a "
        "dynamic-quantisation kernel (one 1024-thread CTA per token): the serial rate that "
        "bounds a grid of many tiny CTAs (hwsim.engine.gpu.dynamic_quant)")
    aiconfigurator_v024_kernel_s: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: GPU time per kernel of a vLLM "
        "0.24 linear (bf16, or fp8 with its two quantisation kernels) replayed in a CUDA graph "
        "by AIConfigurator's collector, the graph_kernel_overhead_s those rows are simulated "
        "with")
    aiconfigurator_v024_quant_kernel_s: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: GPU time per kernel of vLLM "
        "0.24's dynamic fp8 quantisation kernels (abs-max, scale-and-cast; elementwise, one CTA "
        "per token) in the collector's CUDA-graph replay, where the fp8 GEMM kernel takes "
        "aiconfigurator_v024_kernel_s")
    aiconfigurator_v024_b200_kernel_s: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: aiconfigurator_v024_kernel_s "
        "on the B200 (another GPU and driver: its own GPU time per kernel in a graph)")
    aiconfigurator_v014_kernel_s: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: GPU time per kernel of a vLLM "
        "0.14 bf16 linear replayed in a CUDA graph by AIConfigurator's collector (the A100 SXM "
        "table), the graph_kernel_overhead_s those rows are simulated with")
    aiconfigurator_a100_dram_efficiency: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: the sustained share of the "
        "A100's datasheet DRAM bandwidth on the board AIConfigurator's A100 tables were "
        "measured on (fitted on its vLLM 0.14 weight-streaming rows), the dram_efficiency "
        "every AIConfigurator A100 row is simulated with (the a100-sxm-80gb preset keeps its "
        "own, fitted on LLMCompass's board)")
    aiconfigurator_trtllm_kernel_s: GpuPowerConstant = Field(
        description="harness constant, not read by the engine: GPU time per kernel of a "
        "TensorRT-LLM 1.0 weight-only plugin call timed by AIConfigurator's collector, the "
        "graph_kernel_overhead_s its W4A16 rows are simulated with")
