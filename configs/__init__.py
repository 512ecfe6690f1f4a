"""Marks configs/ as the package ``hwsim.data.configs`` (pyproject.toml package-dir): the wheel
ships these chip presets, tech tables, accuracy curves and studies; :mod:`hwsim.presets` finds
them."""
