import { caretDownIcon, caretRightIcon, closeIcon, codeIcon } from "@jupyterlab/ui-components";
import * as React from "react";
import type { ClusterSnapshot, ClusterState } from "./cluster-api";
import { ClusterName } from "./cluster-name";
import type { ClustersModel, Notice } from "./clusters-model";
import { EngineList } from "./engine-list";
import { formatBytes, formatTime, plural } from "./format";
import { taskStreamIcon } from "./task-stream-icon";

/** What the card asks of JupyterLab: confirmations and putting code into a notebook. */
export interface PanelHost {
  /** Asks the user; resolves true when they accept. */
  confirm(title: string, body: string, accept: string): Promise<boolean>;
  /** Puts the code that connects to `cluster` into the current notebook (or the clipboard); says where. */
  insertConnectCode(cluster: string): Promise<string>;
  /** Opens (or shows) the task stream of `cluster` in the main area. */
  openTaskStream(cluster: string): void;
}

/** Props of {@link ClusterCard}. */
export interface ClusterCardProps {
  cluster: ClusterSnapshot;
  model: ClustersModel;
  host: PanelHost;
  pending: string | undefined;
  notice: Notice | undefined;
}

const STATE_LABEL: Record<ClusterState, string> = {
  running: "running",
  stale: "controller died",
  unresponsive: "not answering",
  unreadable: "unreadable",
};

/** What a signal that ends engines does, said before it is sent (they lose their variables). */
const ENDS_ENGINES: Record<string, string> = {
  SIGTERM: "asks them to stop",
  SIGKILL: "kills them at once",
  SIGHUP: "stops them",
  SIGQUIT: "stops them",
  SIGUSR2: "stops them (engines do not handle it)",
};

/** The signals offered for selected engines, with what they do to an engine. */
const SIGNALS: [string, string][] = [
  ["SIGINT", "SIGINT (interrupt)"],
  ["SIGTERM", "SIGTERM (stop)"],
  ["SIGKILL", "SIGKILL (kill)"],
  ["SIGSTOP", "SIGSTOP (pause: tasks wait)"],
  ["SIGCONT", "SIGCONT (resume)"],
  ["SIGHUP", "SIGHUP"],
  ["SIGQUIT", "SIGQUIT"],
  ["SIGUSR1", "SIGUSR1"],
  ["SIGUSR2", "SIGUSR2"],
];

/** One cluster: its state, totals, actions and (when running) its engines. */
export function ClusterCard(props: ClusterCardProps): React.ReactElement {
  const { cluster: c, model, host, pending, notice } = props;
  const [expanded, setExpanded] = React.useState(true);
  const [draft, setDraft] = React.useState<string | null>(null);
  const [selected, setSelected] = React.useState<Set<number>>(new Set());
  const [signal, setSignal] = React.useState("SIGINT");
  const busy = pending !== undefined;
  const running = c.state === "running";

  // Forget selected engines that have gone.
  const ids = c.engines.map((e) => e.id);
  const chosen = ids.filter((id) => selected.has(id));
  const targets: number[] | "all" = chosen.length ? chosen : "all";
  const targetText = chosen.length ? plural(chosen.length, "selected engine") : "all engines";
  const sendLabel = chosen.length ? `Send to ${chosen.length}` : "Send to all";

  const scaleTo = draft ?? String(c.engines.length);
  const scaleN = Number(scaleTo);
  const scaleValid = scaleTo.trim() !== "" && Number.isInteger(scaleN) && scaleN >= 0 && scaleN <= 256;

  const scale = async () => {
    if (!scaleValid) return;
    if (await model.scale(c.name, scaleN)) setDraft(null);
  };
  const stop = async () => {
    if (running || c.state === "unresponsive") {
      const what =
        c.state === "running"
          ? `Its ${plural(c.engines.length, "engine")} stop, and with them every variable they hold. Notebooks connected to it lose it.`
          : (c.message ?? `Its controller (pid ${c.controller?.pid}) does not answer.`);
      if (!(await host.confirm(`Stop cluster "${c.name}"?`, what, "Stop"))) return;
    }
    await model.stop(c.name);
  };
  const send = async () => {
    const ends = ENDS_ENGINES[signal];
    if (ends) {
      const ok = await host.confirm(
        `Send ${signal} to ${targetText} of "${c.name}"?`,
        `${signal} ${ends}: their running tasks fail and their variables are lost. The cluster keeps running with the engines that are left.`,
        `Send ${signal}`,
      );
      if (!ok) return;
    }
    await model.signal(c.name, targets, signal);
  };
  const restart = async (id: number) => {
    const ok = await host.confirm(
      `Restart engine ${id} of "${c.name}"?`,
      "A fresh engine replaces it: its running task fails and its variables are lost.",
      "Restart",
    );
    if (ok) await model.restartEngine(c.name, id);
  };

  const busyCount = c.engines.filter((e) => e.state === "busy").length;
  const pausedCount = c.engines.filter((e) => e.state === "paused").length;
  const queued = c.engines.reduce((s, e) => s + e.queued, 0);
  const memory = c.engines.reduce((s, e) => s + e.rss, 0);
  const Caret = expanded ? caretDownIcon : caretRightIcon;

  return (
    <section className={`tsp-Cluster tsp-Cluster-${c.state}`} data-cluster={c.name} data-state={c.state}>
      <div className="tsp-Cluster-header">
        <button
          type="button"
          className="tsp-IconButton"
          aria-expanded={expanded}
          aria-label={`${expanded ? "Collapse" : "Expand"} cluster ${c.name}`}
          onClick={() => setExpanded(!expanded)}
        >
          <Caret.react tag="span" elementSize="small" />
        </button>
        <ClusterName name={c.name} />
        <span className="tsp-spacer" />
        {running && (
          <button
            type="button"
            className="tsp-IconButton"
            title="Show what the engines run, live: the task stream of the last minute"
            aria-label={`Task stream of cluster ${c.name}`}
            onClick={() => host.openTaskStream(c.name)}
          >
            <taskStreamIcon.react tag="span" elementSize="small" />
          </button>
        )}
        {running && (
          <button
            type="button"
            className="tsp-IconButton"
            title="Insert the code that connects to this cluster into the current notebook (or copy it)"
            aria-label={`Connect code for cluster ${c.name}`}
            onClick={async () => {
              const where = await host.insertConnectCode(c.name);
              model.note(c.name, { kind: "info", text: where });
            }}
          >
            <codeIcon.react tag="span" elementSize="small" />
          </button>
        )}
        <button
          type="button"
          className={`jp-mod-styled tsp-Button ${running || c.state === "unresponsive" ? "jp-mod-warn" : ""}`}
          disabled={busy}
          onClick={stop}
          title={
            running
              ? "Stop the engines and the controller"
              : c.state === "unresponsive"
                ? "Terminate the controller, which does not answer"
                : "Remove the connection file this cluster left behind"
          }
        >
          {running || c.state === "unresponsive" ? "Stop" : "Clean up"}
        </button>
      </div>
      <div className="tsp-Cluster-summary">
        <span className={`tsp-Pill tsp-Pill-${c.state}`}>{STATE_LABEL[c.state]}</span>{" "}
        {running && (
          <>
            {plural(c.engines.length, "engine")} · {busyCount} busy
            {pausedCount > 0 ? ` · ${pausedCount} paused` : ""} · {queued} queued
            {c.unassigned > 0 ? ` · ${c.unassigned} waiting for an engine` : ""} · {formatBytes(memory)}
          </>
        )}
        {busy && <span className="tsp-Pending"> {pending}…</span>}
      </div>
      {c.controller && (
        <div className="tsp-Cluster-meta" title={`started ${c.controller.created}`}>
          controller pid {c.controller.pid} on {c.controller.host} · {c.controller.scheme} ·{" "}
          {c.controller.url}
        </div>
      )}
      {c.message && <div className="tsp-Cluster-message">{c.message}</div>}
      {notice && (
        <div
          className={`tsp-Notice tsp-Notice-${notice.kind}`}
          role={notice.kind === "error" ? "alert" : "status"}
        >
          <span>{notice.text}</span>
          <button
            type="button"
            className="tsp-IconButton"
            aria-label="Dismiss"
            onClick={() => model.dismiss(c.name)}
          >
            <closeIcon.react tag="span" elementSize="small" />
          </button>
        </div>
      )}
      {expanded && running && (
        <>
          <div className="tsp-Cluster-controls">
            <label className="tsp-Field">
              Engines
              <input
                type="number"
                min={0}
                max={256}
                value={scaleTo}
                aria-label={`Engine count for cluster ${c.name}`}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter") void scale();
                }}
              />
            </label>
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept tsp-Button"
              disabled={busy || !scaleValid || scaleN === c.engines.length}
              onClick={scale}
            >
              Scale
            </button>
          </div>
          <div className="tsp-Cluster-controls">
            <select
              value={signal}
              aria-label={`Signal for cluster ${c.name}`}
              onChange={(e) => setSignal(e.target.value)}
            >
              {SIGNALS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="jp-mod-styled tsp-Button"
              disabled={busy || c.engines.length === 0}
              title={`Send ${signal} to ${targetText}`}
              onClick={() => void send()}
            >
              {sendLabel}
            </button>
          </div>
          <EngineList
            cluster={c.name}
            engines={c.engines}
            selected={selected}
            onSelect={setSelected}
            busy={busy}
            onInterrupt={(id) => void model.signal(c.name, [id], "SIGINT")}
            onPause={(id, pause) => void model.signal(c.name, [id], pause ? "SIGSTOP" : "SIGCONT")}
            onRestart={(id) => void restart(id)}
          />
        </>
      )}
      {expanded && c.events.length > 0 && (
        <details className="tsp-Events">
          <summary>Events ({c.events.length})</summary>
          <ol>
            {[...c.events].reverse().map((e) => (
              <li key={`${e.time}-${e.text}`} className={`tsp-Event-${e.kind}`}>
                <time>{formatTime(e.time)}</time> {e.text}
              </li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}
