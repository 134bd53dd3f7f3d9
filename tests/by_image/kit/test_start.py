"""images/kit/start.sh, the entry point under tini: who a container runs as, for each way of starting it."""

from __future__ import annotations

import os

import pytest

from tests.utils.ci import missing

#: `id` as a line: "uid gid name home".
WHO = ["bash", "-c", 'echo "$(id -u) $(id -g) $(whoami 2> /dev/null || echo -) $HOME"']


@pytest.mark.parametrize(
    ("user", "environment", "expected"),
    [
        pytest.param(None, {}, "1000 100 jovyan /home/jovyan", id="default"),
        pytest.param("root", {}, "1000 100 jovyan /home/jovyan", id="root-alone-is-jovyan"),
        pytest.param("root", {"NB_UID": "4321", "NB_GID": "4321"}, "4321 4321 jovyan /home/jovyan", id="NB_UID"),
        pytest.param("root", {"NB_UID": "1001", "NB_GID": "100"}, "1001 100 jovyan /home/jovyan", id="NB_UID-users"),
        pytest.param("root", {"NB_UID": "0", "NB_GID": "0"}, "0 0 root /home/jovyan", id="NB_UID-0-stays-root"),
        pytest.param("4321:4321", {}, "4321 4321 - /home/jovyan", id="any-uid-no-name"),
        pytest.param("4321:0", {}, "4321 0 jovyan /home/jovyan", id="any-uid-group-0-named"),
    ],
)
def test_who_the_command_runs_as(containers, user, environment, expected):
    assert containers.run(WHO, user=user, environment=environment).strip() == expected


def test_the_home_folder_is_writable_for_any_uid(containers):
    output = containers.run(["bash", "-c", "touch ~/.x ~/work/.x && mkdir -p ~/.local/share && echo ok"], user="4321")
    assert output.strip() == "ok"


@pytest.mark.parametrize(
    ("owner", "expected"), [((0, 0), "0 0"), ((4321, 4321), "4321 4321"), ((1000, 100), "1000 100")]
)
def test_root_alone_runs_as_the_owner_of_a_mounted_work_folder(containers, tmp_path, owner, expected):
    """`docker run --user root -v "$PWD":/home/jovyan/work`: runs/ can be made, and belongs to the folder's owner."""
    if os.geteuid() != 0:
        missing("the test gives a folder to other UIDs, which needs root (CI runs as root)")
    os.chown(tmp_path, *owner)
    output = containers.run(
        ["bash", "-c", 'mkdir runs && echo "$(id -u) $(id -g)"'],
        user="root",
        volumes={str(tmp_path): {"bind": "/home/jovyan/work", "mode": "rw"}},
    )
    assert output.strip() == expected
    assert ((tmp_path / "runs").stat().st_uid, (tmp_path / "runs").stat().st_gid) == owner


def test_chown_home_gives_the_home_folder_to_the_user(containers):
    environment = {"NB_UID": "4321", "NB_GID": "4321", "CHOWN_HOME": "yes"}
    assert containers.run(["stat", "-c", "%u:%g", "/home/jovyan"], user="root", environment=environment).strip() == (
        "4321:4321"
    )


def test_tini_is_pid_1_and_the_command_its_child(containers):
    """start.sh execs the command: it is tini's child, and gets the signals `docker stop` sends."""
    output = containers.run(["bash", "-c", "cat /proc/1/comm; echo $$; cat /proc/$$/stat | cut -d' ' -f4"], user="root")
    comm, _, parent = output.split()
    assert (comm, parent) == ("tini", "1")
