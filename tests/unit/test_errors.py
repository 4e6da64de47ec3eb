"""One error tree (issue 12, item 4): every deliberate error derives from the base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from conftest import REPO

import ombt_postmortem
from ombt_postmortem.errors import (
    ConfigError,
    EnvironmentFault,
    OmbtPostmortemError,
    RunDataError,
)


def package_exceptions() -> list[type[BaseException]]:
    """Every exception class defined (not imported) in a module of the package."""
    found = []
    for info in pkgutil.walk_packages(ombt_postmortem.__path__, "ombt_postmortem."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_exception_of_the_package_derives_from_the_base() -> None:
    classes = package_exceptions()
    names = {c.__name__ for c in classes}
    # the walk does see the classes of the stages, not only errors.py
    assert {"ServerNotReady", "InfluxdNotFound", "DockerBackendError", "BackendUnavailable",
            "QueryConfigError", "StrictModeError", "RunDataError"} <= names
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes
              if not issubclass(c, OmbtPostmortemError)]
    assert strays == []


def test_the_two_branches() -> None:
    by_name = {c.__name__: c for c in package_exceptions()}
    for env in ("ServerNotReady", "InfluxdNotFound", "DockerBackendError", "BackendUnavailable"):
        assert issubclass(by_name[env], EnvironmentFault), env
        assert not issubclass(by_name[env], RunDataError), env
    assert not issubclass(by_name["DockerBackendError"], by_name["ServerNotReady"])
    assert not issubclass(RunDataError, EnvironmentFault)
    assert issubclass(by_name["QueryConfigError"], ConfigError)
    assert issubclass(ConfigError, ValueError)  # callers that catch ValueError still do


def test_no_code_compares_exception_class_names() -> None:
    pattern = re.compile(r"__name__\s*(==|!=|\bin\b)\s*[\"'(\[]|[\"']\s*(==|!=)\s*type\(")
    hits = []
    for folder in ("src", "workflow", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if "type(" in line and pattern.search(line):
                    hits.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert hits == []
