"""The configuration schema is the one home of every key and default (issue 12, item 3)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE, REPO, snakemake, write_config

from ombt_postmortem import config
from ombt_postmortem.errors import ConfigError
from ombt_postmortem.figspec import FigureOptions
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.config import InfluxConfig

#: keys of the schema's ``influx`` section that size the job, not InfluxConfig's fields
JOB_KEYS = ("enabled", "threads", "mem_mb")
SCHEMA = REPO / "src" / "ombt_postmortem" / "data" / "config.schema.yaml"


def schema_defaults(node: dict[str, Any]) -> dict[str, Any]:
    """The defaults of an object schema, read from the YAML by hand (not the product's code)."""
    out: dict[str, Any] = {}
    for key, sub in node.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            out[key] = {**sub.get("default", {}), **schema_defaults(sub)}
        elif "default" in sub:
            out[key] = sub["default"]
    return out


def raw_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def object_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every object of the schema with declared properties: the sections that can have typos."""
    found = [prefix] if "properties" in node else []
    for key, sub in node.get("properties", {}).items():
        found += object_paths(sub, (*prefix, key))
    return found


def test_every_section_refuses_unknown_keys() -> None:
    paths = object_paths(raw_schema())
    assert {(), ("influx",), ("influx", "docker"), ("figures",), ("messages",)} <= set(paths)
    for path in paths:
        node = raw_schema()
        for key in path:
            node = node["properties"][key]
        assert node.get("additionalProperties") is False, path


@pytest.mark.parametrize("path", [("windw_margin_s",), ("influx", "windw_margin_s"),
                                  ("influx", "docker", "imgae"), ("figures", "formt"),
                                  ("messages", "keep_per_mesage")])
def test_a_typo_in_any_section_names_the_key(path: tuple[str, ...]) -> None:
    cfg: dict[str, Any] = {"campaigns": {"example": str(EXAMPLE)}}
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = 1
    with pytest.raises(ConfigError) as err:
        config.validate(cfg)
    where = ".".join(path[:-1]) or "top level"
    assert f"{where}: unknown key '{path[-1]}'" in str(err.value)


def test_defaults_are_the_schemas() -> None:
    expected = schema_defaults(raw_schema())
    for section in ("influx", "figures", "messages"):
        assert config.defaults(section) == expected[section]
    full = config.validate({"campaigns": {"a": "x"}})
    assert full == {"campaigns": {"a": "x"}, **expected}
    # the dataclasses read them
    influx = expected["influx"]
    cfg = InfluxConfig()
    for key, value in influx.items():
        if key not in JOB_KEYS:
            assert getattr(cfg, key) == value, key
    assert {f for f in InfluxConfig.__dataclass_fields__ if f not in ("base_dir", "query_set")} \
        | set(JOB_KEYS) == set(influx)
    figs = FigureOptions()
    for key, value in expected["figures"].items():
        got = getattr(figs, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key
    assert set(FigureOptions.__dataclass_fields__) == set(expected["figures"])
    assert (Limits().threads, Limits().mem_mb) == (influx["threads"], influx["mem_mb"])


def test_validate_does_not_change_its_argument_nor_the_schema() -> None:
    given = {"campaigns": {"a": "x"}, "influx": {"docker": {"base_url": "unix:///s"}}}
    full = config.validate(given)
    assert given == {"campaigns": {"a": "x"}, "influx": {"docker": {"base_url": "unix:///s"}}}
    full["influx"]["docker"]["image"] = "mutated"
    assert config.defaults("influx")["docker"]["image"] == \
        raw_schema()["properties"]["influx"]["properties"]["docker"]["properties"]["image"][
            "default"]


def test_the_docker_image_is_written_once() -> None:
    image = raw_schema()["properties"]["influx"]["properties"]["docker"]["properties"][
        "image"]["default"]
    # the versioned files (pip's src/*.egg-info copies the README, which names the image)
    hits = subprocess.run(["git", "grep", "-lF", image, "--", "src", "workflow", "config",
                           "Snakefile"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert hits == ["src/ombt_postmortem/data/config.schema.yaml"]


def test_queries_may_be_a_path_a_preset_or_a_mapping() -> None:
    inline = {"queries": [{"column": "c", "template":
                           'SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop}'}],
              "timeseries": [{"measurement": "cpu", "fields": ["usage_idle"]}]}
    for value in ("config/queries/telegraf.yaml", "telegraf", inline):
        config.validate({"campaigns": {"a": "x"}, "influx": {"queries": value}})
    assert InfluxConfig.from_dict({"queries": inline}).query_set.columns == ["c"]
    for bad in (3, [], ""):
        with pytest.raises(ConfigError, match="influx.queries"):
            config.validate({"campaigns": {"a": "x"}, "influx": {"queries": bad}})


PRESETS = REPO / "src" / "ombt_postmortem" / "data" / "queries"


def _template(column: str) -> dict[str, Any]:
    return {"queries": [{"column": column, "template":
                         'SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop}'}]}


def test_a_query_set_is_a_preset_of_the_package_or_a_users_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ombt_postmortem.influx.queries import resolve_query_set_path

    monkeypatch.chdir(tmp_path)  # no config/queries here: presets come from the package
    qdr = [q["column"] for q in yaml.safe_load((PRESETS / "qdr.yaml").read_text())["queries"]]
    telegraf = [q["column"]
                for q in yaml.safe_load((PRESETS / "telegraf.yaml").read_text())["queries"]]
    assert resolve_query_set_path("telegraf").resolve() == (PRESETS / "telegraf.yaml").resolve()
    assert InfluxConfig.from_dict({"queries": "telegraf"}).query_set.columns == telegraf + qdr
    # the path of the old layout (config/queries/ of the clone) still names the preset
    assert InfluxConfig.from_dict({"queries": "config/queries/qdr.yaml"}).query_set.columns == qdr
    # a user's files: relative to the working folder, a file there wins over the old path
    (tmp_path / "config" / "queries").mkdir(parents=True)
    (tmp_path / "config" / "queries" / "qdr.yaml").write_text(yaml.safe_dump(_template("mine")))
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "own.yaml").write_text(yaml.safe_dump(_template("own")))
    assert InfluxConfig.from_dict({"queries": "config/queries/qdr.yaml"}).query_set.columns == \
        ["mine"]
    assert InfluxConfig.from_dict({"queries": "sets/own.yaml"}).query_set.columns == ["own"]
    # ... and relative to base_dir (the workflow's folder) first
    assert InfluxConfig.from_dict({"queries": "own.yaml"},
                                  base_dir=tmp_path / "sets").query_set.columns == ["own"]
    with pytest.raises(ConfigError, match="query set 'nope' not found .*presets are qdr, telegraf"):
        InfluxConfig.from_dict({"queries": "nope"})


def test_a_built_wheel_carries_the_schema_and_the_presets(tmp_path: Path) -> None:
    """A regular (non-editable) install reads its data from the package, not from a clone."""
    import sys
    import zipfile

    tree = tmp_path / "tree"
    for name in ("pyproject.toml", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes((REPO / name).read_bytes())
    subprocess.run(["cp", "-r", str(REPO / "src"), str(tree / "src")], check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(tree)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(site)
    assert {"ombt_postmortem/data/config.schema.yaml", "ombt_postmortem/data/queries/qdr.yaml",
            "ombt_postmortem/data/queries/telegraf.yaml"} <= names
    # the installed copy, from a folder with no clone in sight: its own schema and presets
    code = ("from ombt_postmortem import config; from ombt_postmortem.influx.config import "
            "InfluxConfig; c = InfluxConfig(); "
            "print(config.SCHEMA_PATH); print(c.query_set.source); print(len(c.query_set.columns))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                         capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert out[0] == str(site / "ombt_postmortem" / "data" / "config.schema.yaml")
    assert out[1] == str(site / "ombt_postmortem" / "data" / "queries" / "telegraf.yaml")
    qdr = yaml.safe_load((PRESETS / "qdr.yaml").read_text())["queries"]
    telegraf = yaml.safe_load((PRESETS / "telegraf.yaml").read_text())["queries"]
    assert int(out[2]) == len(qdr) + len(telegraf)


def test_the_dataclasses_refuse_what_the_schema_refuses() -> None:
    with pytest.raises(ConfigError, match="influx: unknown key 'windw_margin_s'"):
        InfluxConfig.from_dict({"windw_margin_s": 3})
    with pytest.raises(ConfigError, match=r"influx\.docker: unknown key 'imgae'"):
        InfluxConfig(docker={"imgae": "x"})
    with pytest.raises(ConfigError, match=r"influx\.window_margin_s"):
        InfluxConfig(window_margin_s=float("nan"))
    with pytest.raises(ConfigError, match="figures: unknown key 'formt'"):
        FigureOptions.from_config({"formt": "svg"})
    with pytest.raises(ConfigError, match=r"figures\.dpi"):
        FigureOptions(dpi=10)
    # what the rules pass to the jobs (group_by a tuple) is read back unchanged
    opts = FigureOptions(group_by=("call_type",), format="svg")
    assert FigureOptions.from_config(dataclasses.asdict(opts)) == opts


def test_print_the_configuration_in_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("influx:\n  window_margin_s: 5\n")
    assert config.main([str(REPO / "config" / "config.yaml"), str(mine)]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["influx"]["window_margin_s"] == 5
    assert shown["influx"]["export_margin_s"] == 20  # from config/config.yaml, kept by the merge
    assert shown["figures"] == schema_defaults(raw_schema())["figures"]
    mine.write_text("influx:\n  windw_margin_s: 5\n")
    assert config.main([str(mine)]) == 1
    assert "unknown key 'windw_margin_s'" in capsys.readouterr().err


@pytest.mark.workflow
@pytest.mark.parametrize("extra", [{"influx": {"windw_margin_s": 5}},
                                   {"influx": {"docker": {"imgae": "x"}}},
                                   {"figures": {"formt": "svg"}}])
def test_snakemake_refuses_a_typo_naming_the_key(tmp_path: Path, extra: dict[str, Any]) -> None:
    cfg = write_config(tmp_path, {"example": EXAMPLE}, **extra)
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    typo = next(iter(extra.values()))
    key = next(iter(typo))
    key = next(iter(typo[key])) if isinstance(typo[key], dict) else key
    # one line naming the key (issue 22), not snakemake's dump of the schema
    assert f"unknown key '{key}'" in res.output, res.output[-2000:]
    assert "Failed validating" not in res.output and len(res.output.splitlines()) < 10
    assert not (tmp_path / "results").exists()


def test_a_job_fills_the_defaults_as_the_validator_does(tmp_path: Path) -> None:
    """A job's process trusts the workflow's validation (config.trust_validated): its
    validate() fills the defaults by itself, without jsonschema, and must give what the
    jsonschema validator gives, here for the shipped config and a sparse one."""
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    sparse = {"campaigns": {"c": "somewhere"}, "influx": {"docker": {"image": "influxdb:1.8"}},
              "figures": {"dpi": 90}}
    code = textwrap.dedent("""
        import json, sys
        from ombt_postmortem import config
        data = json.loads(sys.argv[1])
        full = {k: config.validate(d, None) for k, d in data.items()}
        config.trust_validated()
        trusted = {k: config.validate(d, None) for k, d in data.items()}
        print(json.dumps([full == trusted, "jsonschema" in sys.modules]))
    """)
    # the validator itself runs first, so jsonschema is loaded: the comparison is the test;
    # a second process checks that the trusted path alone never imports it
    out = subprocess.run([sys.executable, "-c", code,
                          json.dumps({"shipped": shipped, "sparse": sparse})],
                         capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(out.stdout) == [True, True]
    alone = ("import json, sys; from ombt_postmortem import config; config.trust_validated(); "
             "config.validate(json.loads(sys.argv[1]), None); "
             "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", alone, json.dumps(sparse)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"
