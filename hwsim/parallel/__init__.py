"""Many devices: tensor, pipeline and expert parallelism over an interconnect model.

``ParallelSpec``/``parse_parallel`` (spec.py) say how a model is spread; ``collectives.py``
prices all-reduce, all-gather, reduce-scatter, all-to-all and send/recv with alpha-beta
constants per algorithm; ``systems.py`` loads the system presets that hold them.
"""

from hwsim.parallel.collectives import Collective, collective_time_s
from hwsim.parallel.spec import ParallelSpec, parse_parallel, resolve_devices
from hwsim.parallel.systems import is_system, load_system, system_for_chip

__all__ = ["Collective", "ParallelSpec", "collective_time_s", "is_system", "load_system",
           "parse_parallel", "resolve_devices", "system_for_chip"]
