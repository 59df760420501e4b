import { pauseIcon, refreshIcon, runIcon, stopIcon } from "@jupyterlab/ui-components";
import * as React from "react";
import type { EngineSnapshot } from "./cluster-api";
import { formatBytes, plural } from "./format";

/** Props of {@link EngineList}. */
export interface EngineListProps {
  cluster: string;
  engines: EngineSnapshot[];
  selected: ReadonlySet<number>;
  onSelect(selected: Set<number>): void;
  onInterrupt(engine: number): void;
  /** Pauses (SIGSTOP) or resumes (SIGCONT) an engine. */
  onPause(engine: number, pause: boolean): void;
  onRestart(engine: number): void;
  /** True while an action runs on this cluster: the buttons wait. */
  busy: boolean;
}

/**
 * One entry per engine: id, state and actions on the first line; queue, finished tasks, memory,
 * pid and host on the second, so that everything fits the sidebar's default width.
 */
export function EngineList(props: EngineListProps): React.ReactElement {
  const { cluster, engines, selected, busy } = props;
  if (engines.length === 0) {
    return <div className="tsp-Hint">No engines: scale up to add some.</div>;
  }
  const all = engines.every((e) => selected.has(e.id));
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    props.onSelect(next);
  };
  return (
    <div className="tsp-Engines">
      <label className="tsp-Hint tsp-Engines-all">
        <input
          type="checkbox"
          checked={all}
          onChange={() => props.onSelect(all ? new Set() : new Set(engines.map((e) => e.id)))}
        />
        {plural(engines.length, "engine")} (select some to signal only those)
      </label>
      <ul aria-label={`Engines of cluster ${cluster}`}>
        {engines.map((e) => (
          <li key={e.id} data-engine={e.id} data-state={e.state} className="tsp-Engine">
            <input
              type="checkbox"
              checked={selected.has(e.id)}
              aria-label={`Select engine ${e.id}`}
              onChange={() => toggle(e.id)}
            />
            <span className="tsp-Engine-id" title={`Engine ${e.id}`}>
              {e.id}
            </span>
            <span className={`tsp-Pill tsp-Pill-${e.state}`}>{e.state}</span>
            <span className="tsp-spacer" />
            <button
              type="button"
              className="tsp-IconButton"
              title={`Interrupt engine ${e.id} (SIGINT: stops its running task)`}
              aria-label={`Interrupt engine ${e.id}`}
              disabled={busy}
              onClick={() => props.onInterrupt(e.id)}
            >
              <stopIcon.react tag="span" elementSize="small" />
            </button>
            {e.state === "paused" ? (
              <button
                type="button"
                className="tsp-IconButton"
                title={`Resume engine ${e.id} (SIGCONT): its waiting tasks run`}
                aria-label={`Resume engine ${e.id}`}
                disabled={busy}
                onClick={() => props.onPause(e.id, false)}
              >
                <runIcon.react tag="span" elementSize="small" />
              </button>
            ) : (
              <button
                type="button"
                className="tsp-IconButton"
                title={`Pause engine ${e.id} (SIGSTOP): it keeps its variables, its tasks wait until it resumes`}
                aria-label={`Pause engine ${e.id}`}
                disabled={busy}
                onClick={() => props.onPause(e.id, true)}
              >
                <pauseIcon.react tag="span" elementSize="small" />
              </button>
            )}
            <button
              type="button"
              className="tsp-IconButton"
              title={`Restart engine ${e.id}: a fresh engine replaces it (its variables are lost)`}
              aria-label={`Restart engine ${e.id}`}
              disabled={busy}
              onClick={() => props.onRestart(e.id)}
            >
              <refreshIcon.react tag="span" elementSize="small" />
            </button>
            <span className="tsp-Engine-details">
              <span
                title={`Tasks the engine holds, the running one included (${e.outstanding} sent by the controller and not finished)`}
              >
                queue {e.queued}
              </span>
              {" · "}
              <span title="Tasks finished since the engine started">done {e.completed}</span>
              {" · "}
              <span title="Resident memory">{formatBytes(e.rss)}</span>
              {" · "}
              <span className="tsp-Engine-proc" title={`process ${e.pid} on host ${e.host}`}>
                {e.pid}@{e.host}
              </span>
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
