"""`/ddp/api/...` and its WebSocket, served by the Jupyter server and forwarded to the Node DDP
server on its private port.

Jupyter's own handler classes do the checks, exactly as for Jupyter's REST API and kernel
WebSockets: authentication (token, password, a Hub's OAuth), authorization (the DDP group runs
code, so the `kernels` resource: read to look, execute to act), the Origin check, and XSRF for
cookie-authenticated writes. What passes is marked with the secret the Node server checks.
"""

import asyncio

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import httpclient, web, websocket

try:  # jupyter_server >= 2
    from jupyter_server.base.websocket import WebSocketMixin
except ImportError:  # 1.x
    from jupyter_server.base.zmqhandlers import WebSocketMixin

from .node_server import NodeServerUnavailable

SECRET_HEADER = "X-Jupyter-DDP-Secret"  # server/http/proxy-auth.ts
AUTH_RESOURCE = "kernels"
#: How long a request waits for a (re)starting Node server before it is told to come back.
READY_WAIT_SECONDS = 60
#: A group start, a push from the UI: these take as long as the ranks take.
REQUEST_TIMEOUT_SECONDS = 24 * 3600
#: An execution record of 4 ranks' bounded outputs is well below this; a frame too.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
#: Group starts and pushes take a while: more of them than tornado's default may be under way.
MAX_CONCURRENT_REQUESTS = 64
#: What may wait unsent for one tab, as in the Node server (server/http/events.ts).
MAX_BUFFERED_BYTES = 16 * 1024 * 1024
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept")
FORWARDED_RESPONSE_HEADERS = ("Content-Type", "Retry-After")


async def node_port(node):
    """The Node server's port, or HTTPError 503 saying why there is none now."""
    try:
        return await asyncio.wait_for(node.port(), READY_WAIT_SECONDS)
    except NodeServerUnavailable as err:
        raise web.HTTPError(503, str(err)) from None
    except asyncio.TimeoutError:
        raise web.HTTPError(503, "The DDP server is still starting: try again") from None


def check_authorized(handler, action):
    """Jupyter's authorization, where the server has it (jupyter_server >= 1.15)."""
    authorizer = getattr(handler, "authorizer", None)
    if authorizer and not authorizer.is_authorized(handler, handler.current_user, action, AUTH_RESOURCE):
        raise web.HTTPError(403, f"not authorized to {action} {AUTH_RESOURCE}")


def forwarding_client():
    """The HTTP client of the forwarded requests (tornado's shared one queues past 10 at once)."""
    return httpclient.AsyncHTTPClient(
        force_instance=True, max_clients=MAX_CONCURRENT_REQUESTS, max_body_size=MAX_RESPONSE_BYTES
    )


class DdpApiHandler(APIHandler):
    """Every REST route of /ddp/api, forwarded as it is."""

    def initialize(self, node, client):
        self.node = node
        self.client = client

    def write_error(self, status_code, **kwargs):
        # the DDP API's own error shape ({"error": ...}), which the frontend reads
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish({"error": message})

    @web.authenticated
    async def get(self, path):
        check_authorized(self, "read")
        await self._forward(path)

    @web.authenticated
    async def post(self, path):
        check_authorized(self, "execute")
        await self._forward(path)

    @web.authenticated
    async def delete(self, path):
        check_authorized(self, "execute")
        await self._forward(path)

    async def _forward(self, path):
        port = await node_port(self.node)
        query = f"?{self.request.query}" if self.request.query else ""
        headers = {name: self.request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in self.request.headers}
        headers[SECRET_HEADER] = self.node.secret
        if self.request.method == "POST" and not self.request.body and "Content-Type" not in headers:
            # tornado's client would call the empty body a form, which the DDP API refuses
            headers["Content-Type"] = "application/json"
        request = httpclient.HTTPRequest(
            f"http://127.0.0.1:{port}/ddp/api/{path}{query}",
            method=self.request.method,
            headers=headers,
            body=self.request.body if self.request.method == "POST" else None,
            follow_redirects=False,
            request_timeout=REQUEST_TIMEOUT_SECONDS,
        )
        try:
            response = await self.client.fetch(request, raise_error=False)
        except OSError as err:  # it died under this request
            raise web.HTTPError(503, f"The DDP server did not answer: {err}") from None
        if response.code == 599:  # tornado's own: no HTTP response at all
            raise web.HTTPError(503, f"The DDP server did not answer: {response.error}")
        self.set_status(response.code, response.reason)
        for name in FORWARDED_RESPONSE_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if response.body:  # none for a 204 (an interrupt): tornado refuses even an empty one
            self.write(response.body)
        self.finish()


class DdpEventsHandler(WebSocketMixin, JupyterHandler, websocket.WebSocketHandler):
    """The tab's one WebSocket, bridged frame by frame to the Node server's."""

    def initialize(self, node, client=None):
        self.node = node
        self.upstream = None
        self.to_tab = Unwritten()
        self.to_node = Unwritten()
        self.early = []  # what the Node server said before the tab's upgrade completed (its hello)

    async def get(self, *args, **kwargs):
        if not self.current_user:
            raise web.HTTPError(403)
        check_authorized(self, "execute")
        port = await node_port(self.node)
        query = f"?{self.request.query}" if self.request.query else ""
        request = httpclient.HTTPRequest(
            f"ws://127.0.0.1:{port}/ddp/api/ws{query}",
            headers={SECRET_HEADER: self.node.secret},
            request_timeout=READY_WAIT_SECONDS,
        )
        try:
            self.upstream = await websocket.websocket_connect(
                request, on_message_callback=self._from_node, max_message_size=MAX_RESPONSE_BYTES
            )
        except (OSError, httpclient.HTTPClientError) as err:
            raise web.HTTPError(503, f"The DDP server did not answer: {err}") from None
        await super().get(*args, **kwargs)

    def open(self, *args, **kwargs):
        early, self.early = self.early, None
        for message in early:
            self._from_node(message)

    def on_message(self, message):
        # A tab that sends faster than the DDP server reads: drop it rather than buffer it all.
        if self.upstream is not None and not self.to_node.send(self.upstream.write_message, message):
            self.close(1013, "sending too fast")

    def on_close(self):
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def _from_node(self, message):
        if message is None:  # the Node server closed it, or died
            self.upstream = None
            self.close(1012, "the DDP server went away")
            return
        if self.early is not None:
            self.early.append(message)
            return
        if not self.to_tab.send(self.write_message, message):
            # A tab that does not read: drop it, as the Node server would; it catches up from
            # the replay when it comes back.
            self.close(1013, "too far behind")


class Unwritten:
    """What one side of the bridge was handed and has not yet written out: at most MAX_BUFFERED_BYTES."""

    def __init__(self):
        self.size = 0

    def send(self, write, message):
        """`write` the message unless that passes the bound (False: the caller drops the socket)."""
        size = len(message)
        if self.size + size > MAX_BUFFERED_BYTES:
            return False
        try:
            sent = write(message, binary=isinstance(message, bytes))
        except websocket.WebSocketClosedError:
            return True  # it is closing anyway
        self.size += size
        sent.add_done_callback(lambda _: self._written(size))
        return True

    def _written(self, size):
        self.size -= size
