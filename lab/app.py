"""The bundled JupyterLab: the frontend built in lab/build by `npm run build:lab`, served by
jupyterlab_server, for machines without a pip-installed JupyterLab.

    python3 lab/app.py [--no-browser] [--ip=IP] [--port=PORT] [--ServerApp.root_dir=DIR]
                       [--LabServerApp.extra_labextensions_path=DIR ...]

Any jupyter_server option works (the token comes from JUPYTER_TOKEN as usual). Prebuilt
extensions are found in the standard Jupyter data dirs' `labextensions` folders plus each
`extra_labextensions_path`. User settings and workspaces live where JupyterLab keeps them.
"""

import json
import os
import sys

import jupyterlab_server.settings_utils
from jsonschema import Draft7Validator
from jupyter_core.paths import jupyter_config_dir
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from jupyterlab_server import LabServerApp
from jupyterlab_server.handlers import LabHandler, NotFoundHandler
from jupyterlab_server.server import url_path_join
from tornado import web, websocket
from traitlets import Bool, default

# jupyterlab_server 2.16 validates settings with JSON Schema draft 4, which ignores `const`, so
# every `oneOf` of constants in JupyterLab 4's schemas (the news prompt's answer, for one) fails
# and the user's setting is silently reset. Later jupyterlab_server releases use draft 7.
jupyterlab_server.settings_utils.Validator = Draft7Validator

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.join(HERE, "build")


def _build_path(*parts):
    return os.path.join(BUILD_DIR, *parts)


def _core_metadata():
    try:
        with open(_build_path("core", "package.json"), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        sys.exit(f"{BUILD_DIR} is missing or incomplete: run `npm run build:lab` first.")


def _lab_config_dir(env_name, sub_dir):
    """Where JupyterLab keeps user data, with the same environment overrides."""
    return os.environ.get(env_name) or os.path.join(jupyter_config_dir(), "lab", sub_dir)


def _hub_page_config(server):
    """What JupyterLab's hub extension reads (File > Hub Control Panel, Log Out) under
    jupyterhub-singleuser, as pip's LabApp sets it from the Hub's tornado settings; none elsewhere."""
    settings = server.tornado_settings
    if "hub_prefix" not in settings:
        return {}
    config = {
        "hubPrefix": settings["hub_prefix"],
        "hubHost": settings["hub_host"],
        "hubUser": settings["user"],
        "shareUrl": url_path_join(settings["hub_prefix"], "user-redirect"),
        # The server's own API token is the server's, not the user's: never in the page (the
        # Hub's page_config_hook puts the user's there, request by request).
        "token": "",
    }
    if hasattr(server, "server_name"):  # JupyterHub >= 1.0
        config["hubServerName"] = server.server_name
    return config


class UnknownApiHandler(APIHandler):
    """Answers unknown /lab/api/... requests with a JSON 404.

    Without it they would reach jupyterlab_server's page fallthrough and get the app page.
    """

    def prepare(self):
        raise web.HTTPError(404)


class OfflineNewsHandler(APIHandler):
    """`/lab/api/news` and `/lab/api/update`, which pip's jupyterlab package provides.

    The bundled lab never contacts the internet, so there is no news and no update notice; without
    these the frontend's update check fails with an uncaught "Not Found".
    """

    def initialize(self, body):
        self.body = body

    @web.authenticated
    def get(self):
        self.finish(json.dumps(self.body))


class EventsSubscribeHandler(WebSocketMixin, JupyterHandler, websocket.WebSocketHandler):
    """`/api/events/subscribe` for a jupyter_server without an event bus (1.x; 2.x has its own).

    JupyterLab 4's service manager keeps a subscription to the server's events open and, while
    the socket is refused, retries it with back-off for as long as the page is open. There are no
    events to send here, so this accepts the subscription and sends nothing, as jupyter_server 2's
    subscription does while nothing is emitted. Authentication and authorization are those of
    jupyter_server 2's handler.
    """

    auth_resource = "events"

    def get(self, *args, **kwargs):
        user = self.current_user
        if not user or not self.authorizer.is_authorized(self, user, "execute", self.auth_resource):
            raise web.HTTPError(403)
        return super().get(*args, **kwargs)


class NotFoundPageHandler(LabHandler):
    """Serves the app page, with its "Path Not Found" dialog, for other unknown /lab/... URLs.

    jupyterlab_server 2.16's own handler stores `notFoundUrl` in the page config that every later
    request shares, so every later page load showed the dialog; this sets it on a copy.
    """

    def get_page_config(self):
        return dict(super().get_page_config(), notFoundUrl=self.request.path)


class LabApp(LabServerApp):
    name = "lab"
    app_name = "JupyterLab"
    extension_url = "/lab"
    default_url = "/lab"
    file_url_prefix = "/lab/tree"
    load_other_extensions = True

    expose_app_in_browser = Bool(
        False, config=True, help="Expose the app as `window.jupyterapp` (for browser tests)."
    )

    @default("app_version")
    def _default_app_version(self):
        return _core_metadata()["version"]

    @default("static_dir")
    def _default_static_dir(self):
        return _build_path("static")

    @default("templates_dir")
    def _default_templates_dir(self):
        return _build_path("templates")

    @default("schemas_dir")
    def _default_schemas_dir(self):
        return _build_path("schemas")

    @default("themes_dir")
    def _default_themes_dir(self):
        return _build_path("themes")

    @default("app_settings_dir")
    def _default_app_settings_dir(self):
        return _build_path("settings")

    @default("user_settings_dir")
    def _default_user_settings_dir(self):
        return _lab_config_dir("JUPYTERLAB_SETTINGS_DIR", "user-settings")

    @default("workspaces_dir")
    def _default_workspaces_dir(self):
        return _lab_config_dir("JUPYTERLAB_WORKSPACES_DIR", "workspaces")

    def initialize_settings(self):
        super().initialize_settings()
        server = self.serverapp
        identity = getattr(server, "identity_provider", None)  # jupyter_server >= 2
        page_config = server.web_app.settings.setdefault("page_config_data", {})
        page_config.update(
            baseUrl=server.base_url,
            wsUrl=server.websocket_url,
            token=identity.token if identity else server.token,
            quitButton=server.quit_button,
            exposeAppInBrowser=self.expose_app_in_browser,
            # There is no build system here to offer rebuilds.
            devMode=False,
            buildAvailable=False,
            buildCheck=False,
        )
        page_config.update(_hub_page_config(server))

    def initialize_handlers(self):
        super().initialize_handlers()
        # Replace jupyterlab_server's catch-all, which must stay last, with the fixed one.
        catch_all = [h for h in self.handlers if h[1] is NotFoundHandler]
        if len(catch_all) != 1:
            raise RuntimeError("this jupyterlab_server has no single catch-all page handler")
        self.handlers.remove(catch_all[0])
        api = url_path_join(self.app_url, "api")
        self.handlers.append((url_path_join(api, "news"), OfflineNewsHandler, {"body": {"news": []}}))
        self.handlers.append((url_path_join(api, "update"), OfflineNewsHandler, {"body": {"notification": None}}))
        self.handlers.append((url_path_join(api, ".*"), UnknownApiHandler))
        if not hasattr(self.serverapp, "event_logger"):  # the event bus of jupyter_server >= 2
            self.handlers.append(("/api/events/subscribe", EventsSubscribeHandler))
        self.handlers.append((catch_all[0][0], NotFoundPageHandler))


def _jupyter_server_extension_points():
    # Run as a script, this module is the extension jupyter_server loads.
    return [{"module": __name__, "app": LabApp}]


if __name__ == "__main__":
    _core_metadata()
    LabApp.launch_instance()
