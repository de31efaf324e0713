"""A name registered twice (an extension clashing with a built-in) is refused with one
line naming the registry, the name and both modules; the CLI prints that line, even when
the clash breaks the import of the module that formats errors."""

from __future__ import annotations

import sys

import pytest

from workbench.registry import Registry, RegistryError


def test_a_second_registration_names_both_modules():
    reg: Registry[int] = Registry("backbone")
    reg.register("small")(1)
    with pytest.raises(RegistryError) as info:
        reg.register("small")(2)
    assert str(info.value) == (
        f"backbone 'small' is registered twice: by {__name__} and again by {__name__}; rename one of them"
    )
    assert reg.get("small") == 1  # the first stays


def test_cli_prints_one_line_when_the_project_itself_cannot_be_imported(monkeypatch, capsys):
    from workbench import cli

    def clash(args):
        raise RegistryError(
            "backbone 'small_cnn' is registered twice: by a and again by b; rename one of them"
        )

    monkeypatch.setattr(cli, "_config", clash)
    # importing the error formatter fails too (the clash is raised while it imports)
    monkeypatch.setitem(sys.modules, "workbench.training.trainer", None)
    assert cli.main(["config", "--out", "x.toml"]) == 1
    err = capsys.readouterr().err
    assert err == "error: backbone 'small_cnn' is registered twice: by a and again by b; rename one of them\n"
