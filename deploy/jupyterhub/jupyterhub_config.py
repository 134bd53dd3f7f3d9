"""JupyterHub for a team on one machine: each user gets their own container of the kit image (DockerSpawner).

The hub and its proxy run on the host; users' containers join a Docker network of their own, where the hub's API
listens on the network's gateway (the host) and the proxy reaches each server at its container's address::

    pip install 'jupyterhub==5.*' dockerspawner jupyterhub-idle-culler
    npm install -g configurable-http-proxy
    docker network create kit-hub
    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py     # as root: PAM logins need /etc/shadow

Open http://HOST:8000 and log in with an account of this machine that is in the Unix group `kit`. Put TLS in
front of port 8000 (or set c.JupyterHub.ssl_key and ssl_cert) before anyone logs in over a network.
The settings a team changes most are environment variables: KIT_HUB_IMAGE, KIT_HUB_NETWORK, KIT_HUB_CPU_LIMIT
and KIT_HUB_MEM_LIMIT (a user's default limits), KIT_HUB_IDLE_TIMEOUT (seconds). The README ("Use it with
JupyterHub") says which hub versions the image supports: the major version of this hub's jupyterhub must be the
image's.
"""

import os
import sys

import docker

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

IMAGE = os.environ.get("KIT_HUB_IMAGE", "kit:latest")
NETWORK = os.environ.get("KIT_HUB_NETWORK", "kit-hub")
#: (CPUs, memory) of a user's container, by JupyterHub group; users in no group listed get DEFAULT_LIMITS.
#: kit reads the CPU limit from the container's cgroup: each run records it and fixes its thread counts to it.
DEFAULT_LIMITS = (float(os.environ.get("KIT_HUB_CPU_LIMIT", "2")), os.environ.get("KIT_HUB_MEM_LIMIT", "4G"))
LIMITS_BY_GROUP = {"large": (4.0, "16G")}
#: Seconds without activity after which the culler stops a user's server (their ~/work stays).
IDLE_TIMEOUT = int(os.environ.get("KIT_HUB_IDLE_TIMEOUT", "3600"))

c.JupyterHub.bind_url = "http://:8000"
# The hub's API, where users' servers reach it: the host's address on their network.
try:
    c.JupyterHub.hub_ip = docker.from_env().networks.get(NETWORK).attrs["IPAM"]["Config"][0]["Gateway"]
except docker.errors.NotFound:
    sys.exit(f"error: no Docker network {NETWORK}: run `docker network create {NETWORK}`, or set KIT_HUB_NETWORK")

# Who may log in: this machine's accounts (PAM) in the Unix group `kit`.
c.PAMAuthenticator.allowed_groups = {"kit"}

c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = IMAGE
c.DockerSpawner.network_name = NETWORK
c.DockerSpawner.use_internal_ip = True
# The image's command (start-notebook.py) sees the hub's variables and starts jupyterhub-singleuser; say so.
c.DockerSpawner.cmd = ["start-singleuser.py"]
# ~/work is a volume per user: notebooks and runs survive the container, which goes when the server stops (a new
# image applies at the next start). Docker fills a new volume with the image's ~/work: the shipped notebooks.
c.DockerSpawner.name_template = "kit-hub-{username}"
c.DockerSpawner.volumes = {"kit-hub-user-{username}": "/home/jovyan/work"}
c.DockerSpawner.remove = True
c.Spawner.default_url = "/lab"
# A new container on one busy CPU takes a while to start JupyterLab: wait for it rather than give up at 30 s.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120


def limits(spawner) -> tuple[float, str]:
    groups = [group.name for group in spawner.user.groups if group.name in LIMITS_BY_GROUP]
    return max((LIMITS_BY_GROUP[group] for group in groups), default=DEFAULT_LIMITS)


c.DockerSpawner.cpu_limit = lambda spawner: limits(spawner)[0]
c.DockerSpawner.mem_limit = lambda spawner: limits(spawner)[1]

# The idle culler, as a hub service with only the permissions it needs.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_TIMEOUT}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
