"""The package list, which pyproject.toml cannot express (everything else is there).

A pyproject table can either find packages or list them, not both, and the wheel needs:
- every ``hwsim*`` package, found, so a new subpackage ships without editing this file;
- the data packages: ``hwsim.data.models`` and ``hwsim.data.configs`` (mapped from the top-level
  ``models/`` and ``configs/`` by pyproject.toml's ``package-dir``) and the reference data under
  ``hwsim/data/reference``, each with one package per sub-folder, because setuptools ships a
  folder's data files only when the folder is a listed package.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
DATA_ROOTS = {"hwsim.data.models": "models", "hwsim.data.configs": "configs",
              "hwsim.data.reference": "hwsim/data/reference"}


def data_packages(package: str, folder: Path) -> list[str]:
    """``package`` and one package name per sub-folder (caches and hidden folders skipped)."""
    parts = sorted(d.relative_to(folder).parts for d in folder.rglob("*") if d.is_dir())
    return [package, *(".".join([package, *p]) for p in parts
                       if not any(part.startswith(("_", ".")) for part in p))]


setup(packages=[*find_packages(include=["hwsim", "hwsim.*"]),
                *(p for pkg, folder in DATA_ROOTS.items()
                  for p in data_packages(pkg, HERE / folder))])
