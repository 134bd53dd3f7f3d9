"""JupyterLab as a user meets it: port 8888, a token, 403 without it, healthy, stops cleanly."""

import pytest

from tests.utils.containers import host_port, http_status, logged_token, wait_for


def test_prints_a_token_url_and_requires_the_token(containers):
    container = containers.start()
    port, token = logged_token(container)
    assert port == 8888
    base = f"http://127.0.0.1:{host_port(container)}"
    wait_for(lambda: http_status(f"{base}/api/status", token) == 200, 30, "/api/status with the token", container)
    assert http_status(f"{base}/lab?token={token}") == 200
    assert http_status(f"{base}/api/contents") == 403
    assert http_status(f"{base}/api/kernels", token="not-the-token") == 403


def test_jupyter_token_sets_the_token(containers):
    container = containers.start(environment={"JUPYTER_TOKEN": "kit-secret"})
    base = f"http://127.0.0.1:{host_port(container)}"
    wait_for(lambda: http_status(f"{base}/api/status", "kit-secret") == 200, 30, "the server", container)
    assert http_status(f"{base}/api/contents") == 403
    assert "token=kit-secret" not in container.logs().decode(), "a token the user chose is not echoed"


@pytest.mark.parametrize(
    ("command", "environment", "port"),
    [
        pytest.param(None, {}, "8888/tcp", id="default-port"),
        pytest.param(None, {"JUPYTER_PORT": "9999"}, "9999/tcp", id="JUPYTER_PORT"),
        pytest.param(["jupyter", "lab", "--port=9090"], {}, "9090/tcp", id="port-option"),
    ],
)
def test_turns_healthy_within_10_s(containers, command, environment, port):
    container = containers.start(command, environment=environment, ports={port: ("127.0.0.1", None)})

    def health():
        container.reload()
        return container.attrs["State"]["Health"]["Status"] == "healthy"

    wait_for(health, 10, "healthy", container)
    assert http_status(f"http://127.0.0.1:{host_port(container, port)}/api/status") in (200, 403)


def test_stops_cleanly_within_3_s(containers):
    container = containers.start()
    logged_token(container)
    container.stop(timeout=3)  # past 3 s the engine sends SIGKILL, and the exit code would be 137
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()[-2000:]


def test_pid_1_is_an_init_that_reaps_orphans(containers):
    container = containers.start()
    logged_token(container)
    assert container.exec_run(["cat", "/proc/1/comm"]).output.decode().strip() == "tini"
    # The subshell exits at once: its `sleep` is orphaned, re-parented to PID 1, and must be reaped when it ends.
    assert container.exec_run(["bash", "-c", "(sleep 0.3 &); (sleep 0.3 &); exit 0"]).exit_code == 0
    zombies = "grep -h '^State:.*Z' /proc/[0-9]*/status | wc -l"
    wait_for(lambda: container.exec_run(["bash", "-c", zombies]).output.decode().strip() == "0", 5, "no zombie")
    assert "sleep" not in container.exec_run(["bash", "-c", "cat /proc/[0-9]*/comm"]).output.decode()


def test_server_processes_are_not_root(containers):
    container = containers.start()
    logged_token(container)
    top = container.top(ps_args="-o pid,uid,comm")
    uid = top["Titles"].index("UID")
    assert {row[uid] for row in top["Processes"]} == {"1000"}, top
