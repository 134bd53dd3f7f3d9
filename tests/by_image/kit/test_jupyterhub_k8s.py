"""deploy/jupyterhub/config.yaml, the Zero to JupyterHub values for the kit image, against the chart it is for.

Helm merges a user's values over the chart's values.yaml, then validates the result against the chart's
values.schema.json before it renders anything. Those two files and Chart.yaml of the jupyterhub chart 4.4.0 are in
data/z2jh-4.4.0 (BSD-3-Clause, Project Jupyter; the schema is the chart's values.schema.yaml without its
descriptions, as the chart ships it), so this is the check `helm install` makes, offline. What the values say
about the image is checked against the image itself.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.utils.paths import ROOT

VALUES = ROOT / "deploy" / "jupyterhub" / "config.yaml"
CHART = Path(__file__).parent / "data" / "z2jh-4.4.0"


def coalesce(defaults: dict, values: dict) -> dict:
    """Helm's merge of values over a chart's: maps merge key by key, anything else replaces, null deletes."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = value
    return merged


def problems(values: dict) -> list[str]:
    """What the chart's schema finds wrong with ``values`` merged over the chart's defaults."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    merged = coalesce(yaml.safe_load((CHART / "values.yaml").read_text()), values)
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(merged)]


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_the_values_pass_the_charts_schema(values):
    assert problems(values) == []


@pytest.mark.parametrize(
    ("section", "change"),
    [
        pytest.param("singleuser", {"cmd": 42}, id="cmd-not-a-string"),
        pytest.param("singleuser", {"imagee": {"name": "kit"}}, id="misspelt-key"),
        pytest.param("cull", {"timeout": "an hour"}, id="timeout-not-a-number"),
    ],
)
def test_the_schema_check_finds_mistakes(values, section, change):
    wrong = copy.deepcopy(values)
    wrong[section].update(change)
    assert problems(wrong)


def test_the_values_match_the_image(values, containers):
    singleuser = values["singleuser"]
    script = (
        f"command -v {singleuser['cmd']} > /dev/null && id -u && id -g && "
        'echo "$KIT_RUNS_DIR" && python -c "import jupyterhub; print(jupyterhub.__version__)"'
    )
    uid, gid, runs_dir, hub_version = containers.run(["bash", "-c", script]).split()
    assert (int(uid), int(gid)) == (singleuser["uid"], singleuser["fsGid"])
    assert Path(runs_dir).parent == Path(singleuser["storage"]["homeMountPath"]), "runs are on the user's volume"
    # The chart's JupyterHub (its appVersion) has the major version of the image's jupyterhub-singleuser.
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"].split(".")[0] == hub_version.split(".")[0]
    assert values["cull"]["enabled"] is True


def test_the_readmes_helm_values_are_those_of_the_file(values):
    """The README's Helm values (section "Use it with JupyterHub") are a part of config.yaml, not a second copy."""
    section = (ROOT / "README.md").read_text().split("## Use it with JupyterHub", 1)[1].split("\n## ", 1)[0]
    shown = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])

    def part_of(small, large) -> bool:
        if isinstance(small, dict):
            return isinstance(large, dict) and all(k in large and part_of(v, large[k]) for k, v in small.items())
        return small == large

    assert part_of(shown, values)
