"""Jupyter server extension of tsparallel: the REST API behind JupyterLab's cluster panel.

The panel (the `tsparallel-jupyterlab` lab extension) asks this extension; it asks a Node process,
the cluster service (`dist/kernel/lab/cluster-service/main.js` of the tsparallel npm package),
which reads the connection files and talks to the controllers. Cluster keys stay in that
process: the browser sees names, processes and counts only.

`tsparallel lab` enables this extension in the JupyterLab it starts (see kernel/lab/lab-extension.ts).
"""

from .cluster_service import ClusterServiceProcess, default_command
from .handlers import setup_handlers

__all__ = ["ClusterServiceProcess", "default_command", "setup_handlers"]


def _jupyter_server_extension_points():
    return [{"module": "tsparallel_lab"}]


def _load_jupyter_server_extension(server_app):
    service = ClusterServiceProcess(default_command(), server_app.log)
    setup_handlers(server_app.web_app, service)
    server_app.log.info("tsparallel_lab: cluster panel API at %s", "/tsparallel/clusters")


# The name older Jupyter servers look for.
load_jupyter_server_extension = _load_jupyter_server_extension
