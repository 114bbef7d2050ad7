"""Packaging beyond what pyproject.toml can say: the bundled pipelines ship with the package.

The YAML pipelines stay in the top-level ``pipelines/`` folder (where people look for them); the wheel
carries them as package data of ``dpr_components.pipelines.bundled``, a package mapped onto that folder,
so ``dpr-components ... --pipeline hybrid_qa`` works after a plain ``pip install`` too
(``dpr_components.pipelines.files.bundled_dir`` finds them in either place).
"""
from setuptools import find_packages, setup

BUNDLED = "dpr_components.pipelines.bundled"

setup(
    packages=find_packages(include=["dpr_components*"]) + [BUNDLED],
    package_dir={BUNDLED: "pipelines"},
    package_data={BUNDLED: ["*.yml"]},
)
