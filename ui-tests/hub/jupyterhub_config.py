"""The UI tests' JupyterHub (Debian's jupyterhub 3.0 with configurable-http-proxy), run by
ui-tests/servers/hub.mjs, which passes everything in the environment:

    DDP_HUB_PORT     the public (proxy) port; the Hub's API listens on +1, the proxy's on +2
    DDP_HUB_DIR      the Hub's own state: database, cookie secret, proxy pid file
    DDP_HUB_USERS    the allowed users, comma-separated: real Unix users (they must exist)
    DDP_HUB_USER_DIR the users' folders: DIR/NAME/{notebooks,settings,workspaces}, theirs
    DDP_HUB_PASSWORD the one password of every user (DummyAuthenticator)
    DDP_HUB_PYTHON   the python of the venv with jupyterlab_ddp installed

Each user's single-user server is a local process of that Unix user (LocalProcessSpawner), so the
DDP server it runs and its ranks are theirs too. Nothing here is DDP-specific: the package's server
extension, enabled in the venv, does it all.
"""

import os
import secrets

c = get_config()  # noqa: F821 (defined by JupyterHub when it loads this file)

port = int(os.environ["DDP_HUB_PORT"])
hub_dir = os.environ["DDP_HUB_DIR"]
user_dir = os.environ["DDP_HUB_USER_DIR"]


def _user_path(*parts):
    """A path in the spawned user's own folder, for Spawner.environment (called at spawn)."""
    return lambda spawner: os.path.join(user_dir, spawner.user.name, *parts)


# Everything on the loopback interface only.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.auth_token = secrets.token_hex(32)  # this run's; the Hub starts the proxy

# Nothing in the current folder: the state of this run is in the scratch folder.
c.JupyterHub.db_url = f"sqlite:///{os.path.join(hub_dir, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(hub_dir, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(hub_dir, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(hub_dir, "jupyterhub-proxy.pid")

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["DDP_HUB_PASSWORD"]
c.Authenticator.allowed_users = set(os.environ["DDP_HUB_USERS"].split(","))

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.environ["DDP_HUB_PYTHON"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = os.path.join(user_dir, "{username}", "notebooks")
# A fresh JupyterLab state per test run (the users' homes outlive it).
c.Spawner.environment = {
    "JUPYTERLAB_SETTINGS_DIR": _user_path("settings"),
    "JUPYTERLAB_WORKSPACES_DIR": _user_path("workspaces"),
}
# A loaded test machine starts Python slowly.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# When the Hub stops, it stops the users' servers, which stop their DDP servers and ranks.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
