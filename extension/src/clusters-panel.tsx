import { addIcon, closeIcon, ReactWidget, refreshIcon } from "@jupyterlab/ui-components";
import * as React from "react";
import type { ClusterApi, ClusterList } from "./cluster-api";
import { ClusterCard, type PanelHost } from "./cluster-card";
import { clusterIcon } from "./cluster-icon";
import { ClustersModel, PANEL } from "./clusters-model";
import { NewClusterForm } from "./new-cluster-form";

/** The sidebar widget's id (also its tab's `data-id`). */
export const PANEL_ID = "tsparallel-clusters";

/**
 * The left-sidebar panel: every cluster on this machine with its engines, live while the panel
 * is shown, and the actions a cluster needs (start, scale, stop, restart, signal, clean up).
 */
export class ClustersPanel extends ReactWidget {
  readonly model: ClustersModel;
  readonly #host: PanelHost;
  #showNew = false;

  constructor(opts: { api: ClusterApi; host: PanelHost; interval?: number }) {
    super();
    this.id = PANEL_ID;
    this.title.icon = clusterIcon;
    this.title.caption = "Parallel clusters (tsparallel)";
    this.addClass("tsp-ClustersPanel");
    this.#host = opts.host;
    this.model = new ClustersModel({
      api: opts.api,
      interval: opts.interval,
      isVisible: () => this.isVisible,
    });
    this.model.changed.connect(() => this.update());
  }

  /** Shows the new-cluster form (the "New cluster" command). */
  openNewClusterForm(): void {
    this.#showNew = true;
    this.update();
  }

  protected override onAfterShow(): void {
    void this.model.refresh().catch(() => {});
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.model.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    const m = this.model;
    const list = m.list;
    const panelNotice = m.notices.get(PANEL);
    return (
      <div className="tsp-Panel">
        <div className="tsp-Panel-header">
          <h2 className="tsp-Panel-title">Clusters</h2>
          <span className="tsp-spacer" />
          <button
            type="button"
            className="tsp-IconButton"
            title="Start a new cluster"
            aria-label="New cluster"
            onClick={() => this.openNewClusterForm()}
          >
            <addIcon.react tag="span" elementSize="small" />
          </button>
          <button
            type="button"
            className="tsp-IconButton"
            title="Look again now"
            aria-label="Refresh clusters"
            onClick={() => void m.refresh().catch(() => {})}
          >
            <refreshIcon.react tag="span" elementSize="small" />
          </button>
        </div>
        {this.#showNew && (
          <NewClusterForm
            taken={list?.clusters.map((c) => c.name) ?? []}
            cores={list?.cores ?? 2}
            busy={m.pending.has(PANEL)}
            onStart={(name, n) => m.start(name, n)}
            onCancel={() => {
              this.#showNew = false;
              this.update();
            }}
          />
        )}
        {panelNotice && (
          <div
            className={`tsp-Notice tsp-Notice-${panelNotice.kind}`}
            role={panelNotice.kind === "error" ? "alert" : "status"}
          >
            <span>{panelNotice.text}</span>
            <button
              type="button"
              className="tsp-IconButton"
              aria-label="Dismiss"
              onClick={() => m.dismiss(PANEL)}
            >
              <closeIcon.react tag="span" elementSize="small" />
            </button>
          </div>
        )}
        {m.loadError && (
          <div className="tsp-Notice tsp-Notice-error" role="alert">
            <span>{m.loadError}</span>
          </div>
        )}
        {list === null && !m.loadError && <div className="tsp-Hint">Looking for clusters…</div>}
        {list !== null && list.clusters.length === 0 && <EmptyState list={list} />}
        {list?.clusters.map((c) => (
          <ClusterCard
            key={c.name}
            cluster={c}
            model={m}
            host={this.#host}
            pending={m.pending.get(c.name)}
            notice={m.notices.get(c.name)}
          />
        ))}
      </div>
    );
  }
}

/** What the panel says when there is no cluster: how to start one. */
function EmptyState({ list }: { list: ClusterList }): React.ReactElement {
  return (
    <div className="tsp-Empty">
      <p>
        <strong>No clusters running.</strong>
      </p>
      <p>Start one with + above, or:</p>
      <ul>
        <li>
          in a TypeScript notebook: <code>%cluster start -n {list.cores}</code>
        </li>
        <li>
          in a terminal: <code>npx tsparallel cluster start -n {list.cores} --daemonize</code>
        </li>
      </ul>
      <p className="tsp-Hint">
        Clusters are found by their connection files in <code>{list.dir}</code>.
      </p>
    </div>
  );
}
