#!/opt/venv/bin/python
"""A JupyterHub user's server: `jupyterhub-singleuser`, JupyterLab behind the hub's login.

The hub passes everything else (its URL, the user, the token, the server's URL and port) in JUPYTERHUB_*
variables. The image's jupyterhub package must have the hub's major version (README: "Use it with JupyterHub").
NOTEBOOK_ARGS (split as a shell would) and this script's arguments are passed on, as in the Jupyter Docker Stacks
(images/base-notebook/start-singleuser.py).
"""

import os
import shlex
import sys

command = ["jupyterhub-singleuser", *shlex.split(os.environ.get("NOTEBOOK_ARGS", "")), *sys.argv[1:]]
print("Executing:", shlex.join(command), flush=True)
os.execvp(command[0], command)
