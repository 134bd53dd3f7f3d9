"""The Jupyter Docker Stacks conventions: jovyan (1000:100), ~/work, files on a bind mount owned by 1000."""

import os


def test_runs_as_jovyan_in_work(containers):
    output = containers.run(["bash", "-c", "id -u; id -g; id -un; echo $HOME; pwd"])
    assert output.split() == ["1000", "100", "jovyan", "/home/jovyan", "/home/jovyan/work"]


def test_files_written_to_a_bind_mount_are_owned_by_uid_1000(containers, tmp_path):
    tmp_path.chmod(0o777)  # the host folder belongs to whoever runs the tests; jovyan must be able to write
    containers.run(
        ["bash", "-c", "echo hello > /home/jovyan/work/out.txt && mkdir /home/jovyan/work/runs"],
        volumes={str(tmp_path): {"bind": "/home/jovyan/work", "mode": "rw"}},
    )
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    assert (tmp_path / "out.txt").stat().st_uid == 1000
    assert (tmp_path / "runs").stat().st_uid == 1000
    assert os.stat(tmp_path / "out.txt").st_gid == 100


def test_the_projects_notebooks_are_in_the_image(containers):
    assert "README.md" in containers.run(["ls", "/home/jovyan/work/notebooks"]).split()
