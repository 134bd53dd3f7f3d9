#!/opt/venv/bin/python
"""The image's command: JupyterLab, or a JupyterHub user's server when a hub's spawner started the container.

As in the Jupyter Docker Stacks (images/base-notebook/start-notebook.py): a spawner sets JUPYTERHUB_API_TOKEN,
and then start-singleuser.py runs instead, so a spawner that keeps the image's command (DockerSpawner's default)
gets a hub-authenticated server. Otherwise `jupyter lab`, with NOTEBOOK_ARGS (split as a shell would) and this
script's arguments: `docker run kit:latest start-notebook.py --port=9090`.
"""

import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    command = ["start-singleuser.py", *sys.argv[1:]]
else:
    command = ["jupyter", "lab", *shlex.split(os.environ.get("NOTEBOOK_ARGS", "")), *sys.argv[1:]]
print("Executing:", shlex.join(command), flush=True)
os.execvp(command[0], command)
