"""The REST API of the cluster panel, under <base_url>/tsparallel/clusters.

    GET    /tsparallel/clusters                            every cluster: {dir, cores, clusters: [...]}
    POST   /tsparallel/clusters            {name, n}       start a cluster with n local engines
    GET    /tsparallel/clusters/NAME                       one cluster
    PATCH  /tsparallel/clusters/NAME       {n}             scale to n engines
    DELETE /tsparallel/clusters/NAME                       stop it (or clean up after a dead one)
    POST   /tsparallel/clusters/NAME/engines/ID/restart    replace engine ID by a fresh one
    POST   /tsparallel/clusters/NAME/signal {engines, signal}   signal engines (a list of ids or "all")
    GET    /tsparallel/clusters/NAME/stream?width=PX       the task stream of the last minute, PX pixels wide

Errors answer {"message": ...} with a 4xx/5xx status; the message says what to do.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .cluster_service import ClusterServiceError, ClusterServiceProcess

SERVICE_KEY = "tsparallel_cluster_service"
NAME = r"(?P<name>[\w.-]+)"


class ClusterApiHandler(APIHandler):
    """Forwards a request to the cluster service and its answer (or error) to the browser."""

    auth_resource = "tsparallel"

    @property
    def service(self) -> ClusterServiceProcess:
        return self.settings[SERVICE_KEY]

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    async def forward(self, op: str, status: int = 200, timeout: float = 120.0, **args: Any) -> None:
        try:
            result = await self.service.request(op, timeout=timeout, **args)
        except ClusterServiceError as e:
            self.set_status(e.status)
            self.finish(json.dumps({"message": e.message}))
            return
        self.set_status(status)
        self.finish(json.dumps(result))


class ClustersHandler(ClusterApiHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.forward("list")

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        await self.forward("start", status=201, name=body.get("name"), n=body.get("n"))


class ClusterHandler(ClusterApiHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.forward("get", name=name)

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        await self.forward("scale", name=name, n=self.json_body().get("n"))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.forward("stop", name=name)


class RestartEngineHandler(ClusterApiHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, engine: str) -> None:
        await self.forward("restart", name=name, engine=int(engine))


class SignalHandler(ClusterApiHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = self.json_body()
        await self.forward("signal", name=name, engines=body.get("engines", "all"), signal=body.get("signal", "SIGINT"))


class StreamHandler(ClusterApiHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        width = self.get_argument("width", "600")
        try:
            pixels = int(width)
        except ValueError:
            raise web.HTTPError(400, f"width must be a whole number of pixels, not {width!r}") from None
        # Asked once a second while a view is open: a short timeout, the next look tries again.
        await self.forward("stream", name=name, width=pixels, timeout=10.0)


def setup_handlers(web_app: web.Application, service: ClusterServiceProcess) -> None:
    """Adds the routes above to the Jupyter server's web application."""
    web_app.settings[SERVICE_KEY] = service
    root = url_path_join(web_app.settings["base_url"], "tsparallel", "clusters")
    web_app.add_handlers(
        ".*$",
        [
            (root, ClustersHandler),
            (url_path_join(root, NAME), ClusterHandler),
            (url_path_join(root, NAME, "engines", r"(?P<engine>\d+)", "restart"), RestartEngineHandler),
            (url_path_join(root, NAME, "signal"), SignalHandler),
            (url_path_join(root, NAME, "stream"), StreamHandler),
        ],
    )
