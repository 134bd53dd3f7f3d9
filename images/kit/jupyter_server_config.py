"""Jupyter Server settings of the image (installed in /opt/venv/etc/jupyter).

The server listens on every interface of the container, on JUPYTER_PORT (8888 unless set), with a token:
a random one printed in the log, or JUPYTER_TOKEN when set. A token-less server needs the user's explicit
`--IdentityProvider.token=''`.
"""

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.open_browser = False
# In a container the port is published by the user: fail rather than silently move to another one.
c.ServerApp.port_retries = 0
# Root runs the server only when asked to (images/kit/start.sh: NB_UID=0, or root's own project mounted in ~/work,
# as `make lab` does for a root caller); in a single-user container that is the user's choice, not a mistake.
c.ServerApp.allow_root = True
# Kernels talk to the server over Unix sockets, readable by this user only, rather than unencrypted TCP on
# loopback (which every kernel also logs a warning about).
c.KernelManager.transport = "ipc"
# Terminals run bash as is, with the image's environment (PATH with /opt/venv/bin: python, pip, kit). Left to
# itself, a server without a TTY (`docker run -d`) starts `sh -l`, whose /etc/profile drops the venv from PATH.
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}
# Air-gapped networks: no update checks or news fetched at start-up (labconfig/ keeps Lab from asking about them).
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.news_url = None
