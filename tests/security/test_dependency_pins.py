"""Dependency pins: every direct dependency is pinned exactly, and constraints.txt (the whole
installed set) pins each at the same version, so no install picks up an unreviewed release."""

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.security.adversarial import ROOT


def _exact(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier  # exactly one
    assert specifier.operator == "==", requirement
    return specifier.version


def test_direct_dependencies_are_pinned_exactly_and_match_the_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = [Requirement(line) for line in project["dependencies"]]
    direct += [Requirement(line) for line in project["optional-dependencies"]["dev"]]
    constraints = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            constraints[canonicalize_name(requirement.name)] = _exact(requirement)
    assert len(constraints) > len(direct)
    for requirement in direct:
        name = canonicalize_name(requirement.name)
        pinned = constraints.get(name)
        # torch's CPU wheel carries a local version label (2.13.0+cpu).
        assert pinned and Version(pinned).public == _exact(requirement), requirement
