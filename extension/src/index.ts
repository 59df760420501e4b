import {
  ILabShell,
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from "@jupyterlab/application";
import { Clipboard, Dialog, ICommandPalette, showDialog } from "@jupyterlab/apputils";
import { type ClusterApi, RestClusterApi } from "./cluster-api";
import type { PanelHost } from "./cluster-card";
import { ClustersPanel, PANEL_ID } from "./clusters-panel";
import { connectCode } from "./format";
import { TaskStreamView } from "./task-stream-view";

/** Command ids of this extension. */
export const CommandIds = {
  open: "tsparallel:open-clusters",
  newCluster: "tsparallel:new-cluster",
  refresh: "tsparallel:refresh-clusters",
  taskStream: "tsparallel:open-task-stream",
} as const;

/** JupyterLab's own commands used to put the connect code into a notebook. */
const INSERT_CELL = "notebook:insert-cell-below";
const REPLACE_SELECTION = "notebook:replace-selection";

/** The confirmations, notebook access and main-area views the panel needs, from JupyterLab. */
function labHost(app: JupyterFrontEnd, api: ClusterApi): PanelHost {
  const streams = new Map<string, TaskStreamView>();
  return {
    openTaskStream(cluster) {
      let view = streams.get(cluster);
      if (!view || view.isDisposed) {
        view = new TaskStreamView({ api, cluster });
        streams.set(cluster, view);
        app.shell.add(view, "main");
      }
      app.shell.activateById(view.id);
    },
    async confirm(title, body, accept) {
      const result = await showDialog({
        title,
        body,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })],
      });
      return result.button.accept;
    },
    async insertConnectCode(cluster) {
      const code = connectCode(cluster);
      // A notebook is current when JupyterLab's notebook commands are enabled.
      if (app.commands.hasCommand(INSERT_CELL) && app.commands.isEnabled(INSERT_CELL)) {
        await app.commands.execute(INSERT_CELL);
        await app.commands.execute(REPLACE_SELECTION, { text: code });
        return "Inserted a cell that connects to this cluster below the active cell.";
      }
      Clipboard.copyToSystem(code);
      return "No notebook is open: copied the code that connects to this cluster.";
    },
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: "tsparallel-jupyterlab:clusters",
  description: "A sidebar with the tsparallel clusters of this machine: engines, load and actions, live.",
  autoStart: true,
  optional: [ILabShell, ILayoutRestorer, ICommandPalette],
  activate(
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
  ): void {
    const api = new RestClusterApi();
    const host = labHost(app, api);
    const panel = new ClustersPanel({ api, host });
    app.shell.add(panel, "left", { rank: 210 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(CommandIds.open, {
      label: "Show Parallel Clusters",
      execute: () => {
        labShell?.activateById(PANEL_ID);
      },
    });
    app.commands.addCommand(CommandIds.newCluster, {
      label: "New Parallel Cluster…",
      execute: () => {
        labShell?.activateById(PANEL_ID);
        panel.openNewClusterForm();
      },
    });
    app.commands.addCommand(CommandIds.refresh, {
      label: "Refresh Parallel Clusters",
      execute: () => panel.model.refresh(),
    });
    app.commands.addCommand(CommandIds.taskStream, {
      label: (args) => (args.name ? `Task Stream of Cluster ${args.name}` : "Task Stream of a Cluster"),
      caption: "What each engine of a cluster runs, live, over the last minute",
      execute: (args) => {
        if (typeof args.name === "string") host.openTaskStream(args.name);
      },
    });
    for (const command of [CommandIds.open, CommandIds.newCluster, CommandIds.refresh]) {
      palette?.addItem({ command, category: "Parallel Clusters" });
    }
  },
};

export default plugin;
