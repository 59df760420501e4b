import {
  ILabShell,
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from "@jupyterlab/application";
import { Clipboard, Dialog, ICommandPalette, showDialog } from "@jupyterlab/apputils";
import { RestClusterApi } from "./cluster-api";
import type { PanelHost } from "./cluster-card";
import { ClustersPanel, PANEL_ID } from "./clusters-panel";
import { connectCode } from "./format";

/** Command ids of this extension. */
export const CommandIds = {
  open: "tsparallel:open-clusters",
  newCluster: "tsparallel:new-cluster",
  refresh: "tsparallel:refresh-clusters",
} as const;

/** JupyterLab's own commands used to put the connect code into a notebook. */
const INSERT_CELL = "notebook:insert-cell-below";
const REPLACE_SELECTION = "notebook:replace-selection";

/** The confirmations and notebook access the panel needs, from JupyterLab. */
function labHost(app: JupyterFrontEnd): PanelHost {
  return {
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
    const panel = new ClustersPanel({ api: new RestClusterApi(), host: labHost(app) });
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
    for (const command of Object.values(CommandIds)) {
      palette?.addItem({ command, category: "Parallel Clusters" });
    }
  },
};

export default plugin;
