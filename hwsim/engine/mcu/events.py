"""The MCU cycle fidelity's event model (SimPy): an Ethos-U block pipeline and a serial core.

**NPU op.** The op is cut into blocks (output-depth slices, see :func:`npu_block_count`). For
each block a weight DMA brings its slice of the encoded weights over the weight memory's AXI
port (flash, DRAM or SRAM), an input DMA brings its share of the input feature map over the
SRAM port, the MAC array computes it, and an output DMA writes its share of the result back
over the SRAM port. Weight, input and output buffers hold two blocks each (double buffering),
so the DMAs of block b+1 overlap the compute of block b; each port moves one transfer at a
time (when the weights live in SRAM the DMAs share the SRAM port; when an op's feature maps
spill to DRAM in Dedicated_Sram mode, its input and output DMAs share the AXI1 port). An op
lasts about max(compute, weight stream, SRAM traffic) plus the first block's loads and the
last block's store, which nothing overlaps.

**Core op.** The core runs its work items one after another; a chunk first waits for the
flash wait states of the weights it streams, then computes. Ops run in model order (each op
reads the previous op's output), so when an op falls back to the host core, the NPU waits.

All times here are in the unit's own clock cycles; :mod:`hwsim.engine.mcu.cycle` converts NPU
cycles to the chip clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from hwsim.engine.timeline import OpTimeline

# Vela 5.2.0 splits weight streams into output-depth slices in multiples of 16 channels
# (ethosu/vela/architecture_features.py, ArchitectureFeatures.OFMSplitDepth = 16).
OFM_SPLIT_DEPTH = 16
# The NPU also tiles an output in space: a block is taken as 16 channels x 16 positions of
# output. This is a modelling granularity, not a hardware figure (Vela picks block shapes per
# op); only the exposed first load and last store depend on it.
BLOCK_OUTPUT_ELEMENTS = 256
MAX_BLOCKS = 32  # more blocks only add events; the fill/drain exposed is ~1/32 of an op
SLOTS = 2  # double buffering

NPU_TRACKS = ("npu", "weight_dma", "ifm_dma", "ofm_dma")
CORE_TRACKS = ("core", "flash")


@dataclass(frozen=True)
class Block:
    """One NPU block: bytes moved over each port and compute cycles (NPU cycles)."""

    weight_bytes: float
    ifm_bytes: float
    compute_cycles: float
    ofm_bytes: float


@dataclass(frozen=True)
class Chunk:
    """A run of a core work item: flash stall then compute (core cycles)."""

    label: str
    stall_cycles: float
    compute_cycles: float


def npu_block_count(output_channels: float, output_elements: float) -> int:
    """Blocks of a work item with ``output_channels`` (weight streams split by depth; 0 for
    work without weights) and ``output_elements`` outputs in all."""
    n = max(math.ceil(output_channels / OFM_SPLIT_DEPTH),
            math.ceil(output_elements / BLOCK_OUTPUT_ELEMENTS))
    return max(1, min(MAX_BLOCKS, int(n)))


def even_blocks(blocks: int, weight_bytes: float, ifm_bytes: float, compute_cycles: float,
                ofm_bytes: float) -> list[Block]:
    """``blocks`` equal blocks sharing a work item's bytes and cycles."""
    b = max(1, blocks)
    return [Block(weight_bytes / b, ifm_bytes / b, compute_cycles / b, ofm_bytes / b)] * b


def run_npu_op(blocks: list[tuple[str, Block]], weight_bw: float, sram_bw: float, *,
               shared_port: bool = False, ifm_on_weight_port: bool = False,
               ofm_on_weight_port: bool = False, record: bool = False) -> OpTimeline:
    """Simulate one op's blocks (label, block) through weight/ifm DMA -> compute -> ofm DMA.

    ``weight_bw`` and ``sram_bw`` are bytes per NPU cycle of the AXI1 (weight memory) and
    SRAM ports; ``shared_port`` puts the weight DMA on the SRAM port (weights held in SRAM),
    ``ifm_on_weight_port`` / ``ofm_on_weight_port`` put the input / output DMA on the AXI1
    port (feature maps in DRAM)."""
    env = simpy.Environment()
    sram_port = simpy.Resource(env, capacity=1)
    axi1_port = simpy.Resource(env, capacity=1)
    weight_port = sram_port if shared_port else axi1_port
    w_bw = sram_bw if shared_port else weight_bw
    ifm_port, ifm_bw = (axi1_port, weight_bw) if ifm_on_weight_port else (sram_port, sram_bw)
    ofm_port, ofm_bw = (axi1_port, weight_bw) if ofm_on_weight_port else (sram_port, sram_bw)
    free_w = simpy.Container(env, capacity=SLOTS, init=SLOTS)
    free_i = simpy.Container(env, capacity=SLOTS, init=SLOTS)
    free_o = simpy.Container(env, capacity=SLOTS, init=SLOTS)
    w_ready, i_ready, computed = simpy.Store(env), simpy.Store(env), simpy.Store(env)
    tl = OpTimeline(busy=dict.fromkeys(NPU_TRACKS, 0.0))

    def note(track: str, name: str, start: float, end: float) -> None:
        tl.busy[track] += end - start
        if record:
            tl.slices.append((track, name, start, end))

    def dma(port: simpy.Resource, nbytes: float, bw: float, track: str, label: str):
        if nbytes <= 0:
            return
        with port.request() as req:
            yield req
            start = env.now
            yield env.timeout(nbytes / bw)
            note(track, label, start, env.now)

    def weight_loader():
        for label, b in blocks:
            yield free_w.get(1)
            yield from dma(weight_port, b.weight_bytes, w_bw, "weight_dma", label)
            yield w_ready.put(label)

    def ifm_loader():
        for label, b in blocks:
            yield free_i.get(1)
            yield from dma(ifm_port, b.ifm_bytes, ifm_bw, "ifm_dma", label)
            yield i_ready.put(label)

    def computer():
        for label, b in blocks:
            yield w_ready.get()
            yield i_ready.get()
            yield free_o.get(1)
            start = env.now
            yield env.timeout(b.compute_cycles)
            note("npu", label, start, env.now)
            yield free_w.put(1)
            yield free_i.put(1)
            yield computed.put((label, b))

    def storer():
        for _ in blocks:
            label, b = yield computed.get()
            yield from dma(ofm_port, b.ofm_bytes, ofm_bw, "ofm_dma", label)
            yield free_o.put(1)

    env.process(weight_loader())
    env.process(ifm_loader())
    env.process(computer())
    done = env.process(storer())
    env.run(until=done)
    tl.cycles = float(env.now)
    return tl


def run_core_op(chunks: list[Chunk], *, record: bool = False) -> OpTimeline:
    """Simulate the core running ``chunks`` in order: each waits on flash, then computes."""
    env = simpy.Environment()
    flash = simpy.Resource(env, capacity=1)
    tl = OpTimeline(busy=dict.fromkeys(CORE_TRACKS, 0.0))

    def note(track: str, name: str, start: float, end: float) -> None:
        tl.busy[track] += end - start
        if record:
            tl.slices.append((track, name, start, end))

    def core():
        for c in chunks:
            if c.stall_cycles > 0:
                with flash.request() as req:
                    yield req
                    start = env.now
                    yield env.timeout(c.stall_cycles)
                    note("flash", c.label, start, env.now)
            start = env.now
            yield env.timeout(c.compute_cycles)
            note("core", c.label, start, env.now)

    done = env.process(core())
    env.run(until=done)
    tl.cycles = float(env.now)
    return tl
