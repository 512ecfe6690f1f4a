"""Package data shipped in the wheel; read it through :mod:`hwsim.presets`, never by path.

- ``hwsim.data.models``: the repository's top-level ``models/`` folder (model presets, weights,
  TFLite files), mapped here by ``[tool.setuptools.package-dir]`` in pyproject.toml.
- ``hwsim.data.configs``: the top-level ``configs/`` folder (chip presets, tech tables, accuracy
  curves, studies, claim studies), mapped the same way.
- ``reference/gpu``, ``reference/mcu``: the measurements ``hwsim validate`` compares with, with
  their SOURCES files (which rows are fitted, which are held out).
"""
