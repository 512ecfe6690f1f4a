"""Marks models/ as the package ``hwsim.data.models`` (pyproject.toml package-dir): the wheel
ships these presets, weights and TFLite files; :mod:`hwsim.presets` finds them."""
