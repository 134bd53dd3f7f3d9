"""The image as every user's server under a real JupyterHub: deploy/jupyterhub/jupyterhub_config.py, for real.

JupyterHub, DockerSpawner and the idle culler from the host's .venv, configurable-http-proxy from npm; the hub on
127.0.0.1, its users' containers on a Docker network this module makes. Two users log in through the login form;
each gets a container of the image, runs `kit run` of a shipped notebook in a kernel of their own server (over
its REST API, with their token) and cannot reach the other's server or files. A user's runs survive their server's
stop and start; a run's thread count follows the user's CPU limit; the culler stops an idle server.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator

import docker
import pytest
from selenium.webdriver.common.by import By

from tests.utils.browser import chromium
from tests.utils.ci import missing
from tests.utils.containers import Containers
from tests.utils.jupyterhub import CONFIG, JUPYTERHUB, Hub, User, require_hub, wait
from tests.utils.paths import ROOT

NOTEBOOK = "notebooks/train_tabular.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "jupyterhub"
#: alice gets the example's default limit of one CPU; bob is in the example's "large" group (4 CPUs, capped by
#: the machine's own).
CPU_LIMIT, LARGE_CPU_LIMIT = 1, 4
#: kit run in a user's kernel, from the server's root (~/work); what it printed, as JSON.
KIT_RUN = """\
import json, subprocess
done = subprocess.run(["kit", "run", {notebook!r}, "--run-id", {run!r}], capture_output=True, text=True, timeout=600)
print(json.dumps({{"returncode": done.returncode, "stderr": done.stderr[-2000:]}}))
"""


@pytest.fixture(scope="module")
def network(docker_client: docker.DockerClient) -> Iterator[str]:
    """A Docker network of the module's own: users' containers join it, and the hub's API listens on its gateway."""
    require_hub()
    created = docker_client.networks.create(f"hub-test-{secrets.token_hex(3)}", driver="bridge")
    yield created.name
    created.remove()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, docker_client, network, kit_image) -> Iterator[Hub]:
    """The example's hub with the test's logins (a shared password), users alice and bob, bob in "large"; stopped
    at the end, with every container and volume it made removed, passed or failed."""
    started = Hub(tmp_path_factory.mktemp("hub"), network, kit_image, ("alice", "bob"), groups={"large": ["bob"]},
                  env={"KIT_HUB_CPU_LIMIT": str(CPU_LIMIT), "KIT_HUB_MEM_LIMIT": "2G",
                       "KIT_HUB_IDLE_TIMEOUT": "86400"})  # fmt: skip
    try:
        yield started.start()
    finally:
        started.stop(docker_client)


def kit_run(user: User, run: str) -> dict:
    """`kit run` of the shipped notebook in a kernel of the user's server; its exit code and stderr's end."""
    printed = user.execute(KIT_RUN.format(notebook=NOTEBOOK, run=run))
    return json.loads(printed.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, User]:
    """alice and bob logged in, their servers started, and one run each made in their server."""
    logged_in = {name: hub.login(name) for name in hub.users}
    for user in logged_in.values():
        user.start()
    for user in logged_in.values():
        done = kit_run(user, f"{user.name}-run")
        assert done["returncode"] == 0, done["stderr"]
    return logged_in


def health(container) -> str:
    container.reload()
    return container.attrs["State"]["Health"]["Status"]


def status(user: User, run: str) -> dict:
    return json.loads(user.file(f"runs/{run}/status.json"))


def test_each_user_gets_their_own_container_of_the_image(users, hub, docker_client, kit_image):
    containers = {c.name: c for c in hub.containers(docker_client)}
    assert sorted(containers) == [f"{hub.prefix}-alice", f"{hub.prefix}-bob"]
    image_id = docker_client.images.get(kit_image).id
    for name, container in containers.items():
        assert container.image.id == image_id
        assert container.attrs["Config"]["User"] in ("1000", "jovyan"), name
        mounts = {m["Destination"]: m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"}
        assert mounts == {"/home/jovyan/work": name}, "each user's ~/work is a volume of their own"
        wait(lambda c=container: health(c) == "healthy", 60, f"{name} to be healthy")
    for user in users.values():
        assert status(user, f"{user.name}-run")["status"] == "succeeded"
        # The shipped notebooks came with the image into the new volume.
        assert "train_tabular.ipynb" in user.listing("notebooks")


def test_a_user_cannot_reach_another_users_server(users):
    alice, bob = users["alice"], users["bob"]
    assert alice.get("/api/contents").status_code == 200
    assert bob.get("/api/contents", token=alice.token).status_code == 403
    assert bob.get("/api/contents", token="not-a-token").status_code in (302, 403)
    assert alice.api("GET", "/users/bob").status_code in (403, 404)


def test_a_user_cannot_reach_another_users_files(users, hub, docker_client):
    alice, bob = users["alice"], users["bob"]
    assert alice.listing("runs") == ["alice-run"]
    assert bob.listing("runs") == ["bob-run"]
    # From inside alice's container, bob's server answers on the network but refuses alice's token.
    bob_container = docker_client.containers.get(f"{hub.prefix}-bob")
    address = bob_container.attrs["NetworkSettings"]["Networks"][hub.network]["IPAddress"]
    code = (
        "import urllib.request, urllib.error\n"
        f"request = urllib.request.Request('http://{address}:8888/user/bob/api/contents/runs',\n"
        f"                                 headers={{'Authorization': 'token {alice.token}'}})\n"
        "try:\n    print(urllib.request.urlopen(request, timeout=10).status)\n"
        "except urllib.error.HTTPError as error:\n    print(error.code)\n"
    )
    assert alice.execute(code).strip() == "403"


def test_the_thread_count_follows_the_users_cpu_limit(users):
    alice, bob = users["alice"], users["bob"]
    threads = status(alice, "alice-run")["invocation"]["threads"]
    assert (threads["intra_op"], threads["source"]) == (CPU_LIMIT, "cpu-quota")
    if (os.cpu_count() or 1) < 2:
        missing("the test needs two CPUs or more, to tell the two users' limits apart")
    expected = min(LARGE_CPU_LIMIT, os.cpu_count())
    assert status(bob, "bob-run")["invocation"]["threads"]["intra_op"] == expected


def test_a_user_logs_in_and_works_in_jupyterlab_in_a_browser(users, hub):
    """Chromium through the hub's login form to alice's JupyterLab; its screenshot in test-artifacts/jupyterhub/."""
    with chromium() as driver:
        driver.get(f"{hub.url}/hub/login")
        driver.find_element(By.ID, "username_input").send_keys("alice")
        driver.find_element(By.ID, "password_input").send_keys(hub.password)
        driver.find_element(By.ID, "login_submit").click()
        names = ".jp-DirListing-itemText"

        def listed() -> bool:
            return {e.text for e in driver.find_elements(By.CSS_SELECTOR, names)} >= {"notebooks", "runs"}

        try:
            wait(listed, 120, "alice's JupyterLab with notebooks/ and runs/")
            wait(lambda: not driver.find_elements(By.ID, "jupyterlab-splash"), 60, "the splash screen gone")
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / "alice-lab.png"))
        assert driver.current_url.startswith(f"{hub.url}/user/alice/lab")
        driver.get(f"{hub.url}/user/bob/lab")
        wait(lambda: "/user/bob/" not in driver.current_url or "403" in driver.title, 30, "bob's Lab refused")
        assert not driver.find_elements(By.CSS_SELECTOR, names), "alice sees no file of bob's"


def test_runs_survive_a_stop_and_start_of_the_users_server(users, hub, docker_client):
    alice = users["alice"]
    before = alice.file("runs/alice-run/status.json")
    alice.stop()
    # The hub forgets the server when it asks DockerSpawner to stop it; the container goes a moment later.
    only_bob = [f"{hub.prefix}-bob"]
    wait(lambda: [c.name for c in hub.containers(docker_client)] == only_bob, 60, "alice's container to go", hub.log)
    alice.start()
    assert alice.file("runs/alice-run/status.json") == before
    assert alice.listing("runs") == ["alice-run"]


def test_the_idle_culler_stops_an_idle_server(tmp_path_factory, docker_client, network, kit_image):
    culled = Hub(tmp_path_factory.mktemp("culled"), network, kit_image, ("carol",),
                 env={"KIT_HUB_CPU_LIMIT": "1", "KIT_HUB_MEM_LIMIT": "1G", "KIT_HUB_IDLE_TIMEOUT": "10"})  # fmt: skip
    try:
        carol = culled.start().login("carol")
        carol.start()
        wait(lambda: carol.server() is None, 120, "the culler to stop carol's idle server", culled.log)
        # The hub forgets the server when it asks DockerSpawner to stop it; the container goes a moment later.
        wait(lambda: culled.containers(docker_client) == [], 60, "carol's culled container to be removed", culled.log)
        assert "Culling server carol" in culled.log.read_text()
    finally:
        culled.stop(docker_client)


@pytest.mark.parametrize(
    ("environment", "executed"),
    [
        pytest.param({}, ["jupyter lab"], id="jupyterlab"),
        pytest.param({"NOTEBOOK_ARGS": "--port=9191"}, ["jupyter lab --port=9191"], id="notebook-args"),
        pytest.param({"JUPYTERHUB_API_TOKEN": "from-a-spawner"}, ["start-singleuser.py", "jupyterhub-singleuser"],
                     id="under-a-hub"),
    ],
)  # fmt: skip
def test_the_default_command_starts_what_the_environment_asks_for(containers: Containers, environment, executed):
    container = containers.start(environment=environment)
    wait(lambda: all(f"Executing: {line}" in container.logs().decode() for line in executed), 30, f"{executed}")


def test_the_example_names_a_missing_network_in_one_line(tmp_path):
    require_hub()
    env = os.environ | {"KIT_HUB_NETWORK": f"hub-test-missing-{secrets.token_hex(3)}"}
    result = subprocess.run([str(JUPYTERHUB), "-f", str(CONFIG)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "docker network create hub-test-missing-" in errors[0], result.stderr[-2000:]
