import { ReactWidget } from "@jupyterlab/ui-components";
import * as React from "react";
import { chartTheme } from "./chart-theme";
import type { ClusterApi, TaskStreamSnapshot } from "./cluster-api";
import { ClusterName } from "./cluster-name";
import { formatBytes, plural } from "./format";
import { drawSeries, SERIES_HEIGHT } from "./series-chart";
import { colourOf, ERROR_COLOUR } from "./task-colours";
import { drawTaskRows, ROW_HEIGHT } from "./task-rows-chart";
import { taskStreamIcon } from "./task-stream-icon";
import { TaskStreamModel } from "./task-stream-model";

/** Task names shown in the legend (the most frequent ones). */
const LEGEND_NAMES = 8;
const RATE_COLOUR = "#4e79a7";
const QUEUE_COLOUR = "#f28e2b";
/** Lines of the memory chart, one per engine, in turn. */
const ENGINE_COLOURS = ["#59a14f", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#17becf"];

/** The id of a cluster's task stream view (also what the "open" command finds it by). */
export function taskStreamId(cluster: string): string {
  return `tsparallel-task-stream-${cluster}`;
}

/**
 * A cluster's task stream in JupyterLab's main area, live while shown: one row per engine with a
 * bar per task over the last minute (coloured by function name, failures red, idle time blank),
 * tasks per second and tasks waiting, and each engine's memory. It asks for the last minute
 * about once a second, merged to its own width (see TaskStreamModel).
 */
export class TaskStreamView extends ReactWidget {
  readonly model: TaskStreamModel;
  #width = 600;
  /** The content says the width it draws at (one function: the content's effect depends on it). */
  readonly #onWidth = (width: number) => {
    this.#width = width;
  };

  constructor(opts: { api: ClusterApi; cluster: string; interval?: number }) {
    super();
    this.id = taskStreamId(opts.cluster);
    this.title.label = `Tasks: ${opts.cluster}`;
    this.title.caption = `Task stream of cluster "${opts.cluster}" (tsparallel)`;
    this.title.icon = taskStreamIcon;
    this.title.closable = true;
    this.addClass("tsp-TaskStream");
    this.model = new TaskStreamModel({
      api: opts.api,
      cluster: opts.cluster,
      width: () => this.#width,
      isVisible: () => this.isVisible,
      interval: opts.interval,
    });
    this.model.changed.connect(() => this.update());
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
    return <TaskStreamContent model={this.model} onWidth={this.#onWidth} />;
  }
}

/** Tasks per name over the window, most first. */
function tasksByName(snap: TaskStreamSnapshot): [string, number][] {
  return snap.names
    .map((name, i): [string, number] => [name, snap.name_tasks[i] ?? 0])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

function TaskStreamContent(props: {
  model: TaskStreamModel;
  onWidth: (width: number) => void;
}): React.ReactElement {
  const { model, onWidth } = props;
  const snap = model.snapshot;
  // A state, not a ref: the canvas appears with the first answer, and must be observed then.
  const [rows, setRows] = React.useState<HTMLCanvasElement | null>(null);
  const rate = React.useRef<HTMLCanvasElement>(null);
  const memory = React.useRef<HTMLCanvasElement>(null);
  const root = React.useRef<HTMLDivElement>(null);
  const [, redraw] = React.useReducer((n: number) => n + 1, 0);

  // The stream is merged to the width it is drawn at: tell the model when that changes.
  React.useEffect(() => {
    if (!rows) return undefined;
    const observer = new ResizeObserver(() => {
      onWidth(rows.clientWidth);
      redraw();
    });
    observer.observe(rows);
    return () => observer.disconnect();
  }, [onWidth, rows]);

  React.useEffect(() => {
    if (!snap || !root.current) return;
    const theme = chartTheme(root.current);
    if (rows) drawTaskRows(rows, snap, theme);
    if (rate.current)
      drawSeries(
        rate.current,
        snap.t,
        snap.now,
        snap.window_ms,
        [
          { values: snap.rate, colour: RATE_COLOUR, fill: true, format: (v) => `${Math.round(v)} tasks/s` },
          {
            values: snap.queued,
            colour: QUEUE_COLOUR,
            axis: "right",
            format: (v) => `${Math.round(v)} waiting`,
          },
        ],
        theme,
      );
    if (memory.current)
      drawSeries(
        memory.current,
        snap.t,
        snap.now,
        snap.window_ms,
        snap.engines.map((e, i) => ({
          values: e.rss_series,
          colour: ENGINE_COLOURS[i % ENGINE_COLOURS.length]!,
          format: (v: number) => `${formatBytes(v)} per engine, at most`,
        })),
        theme,
      );
  });

  if (!snap) {
    return (
      <div className="tsp-TaskStream-body" ref={root}>
        <div className="tsp-Hint">{model.error ?? `Looking at cluster "${model.cluster}"…`}</div>
      </div>
    );
  }
  const names = tasksByName(snap);
  const total = names.reduce((n, [, c]) => n + c, 0);
  const failed = snap.engines.some((e) => e.spans.some((_, i) => i % 5 === 4 && e.spans[i] === 1));
  const perSecond = snap.rate.at(-1) ?? 0;
  const waiting = snap.queued.at(-1) ?? 0;
  return (
    <div
      className="tsp-TaskStream-body"
      ref={root}
      data-cluster={model.cluster}
      data-tasks={total}
      data-engines={snap.engines.length}
    >
      <div className="tsp-TaskStream-header">
        <ClusterName name={model.cluster} />
        <span className="tsp-TaskStream-figures">
          {plural(snap.engines.length, "engine")} · {perSecond} tasks/s · {waiting} waiting · {total} tasks in
          the last minute
        </span>
      </div>
      {model.error && (
        <div className="tsp-Notice tsp-Notice-error" role="alert">
          <span>{model.error}</span>
        </div>
      )}
      {snap.engines.length === 0 ? (
        <div className="tsp-Hint">This cluster has no engines: scale it up in the Clusters panel.</div>
      ) : (
        <div className="tsp-TaskStream-grid">
          <div className="tsp-TaskStream-labels">
            {snap.engines.map((e) => (
              <div
                key={e.id}
                className="tsp-TaskStream-label"
                style={{ height: ROW_HEIGHT }}
                data-engine={e.id}
                data-state={e.state}
                title={`engine ${e.id}: ${e.state}, ${formatBytes(e.rss)} resident`}
              >
                <span className="tsp-Engine-id">{e.id}</span>
                <span className={`tsp-Pill tsp-Pill-${e.state}`}>{e.state}</span>
                <span className="tsp-TaskStream-memory">{formatBytes(e.rss)}</span>
              </div>
            ))}
          </div>
          <canvas
            ref={setRows}
            className="tsp-TaskStream-rows"
            role="img"
            aria-label={`Tasks of each engine of cluster ${model.cluster} over the last minute`}
          />
        </div>
      )}
      <ul className="tsp-TaskStream-legend" aria-label="Task names">
        {names.slice(0, LEGEND_NAMES).map(([name, count]) => (
          <li key={name}>
            <span className="tsp-Swatch" style={{ background: colourOf(name) }} />
            {name} ({count})
          </li>
        ))}
        {names.length > LEGEND_NAMES && <li>… {names.length - LEGEND_NAMES} more</li>}
        {failed && (
          <li>
            <span className="tsp-Swatch" style={{ background: ERROR_COLOUR }} />
            failed
          </li>
        )}
        {total === 0 && <li className="tsp-Hint">No task ran in the last minute.</li>}
      </ul>
      <div className="tsp-TaskStream-chart">
        <div className="tsp-Hint">Tasks finished per second, and tasks waiting</div>
        <canvas
          ref={rate}
          style={{ height: SERIES_HEIGHT }}
          aria-label="Tasks per second and tasks waiting"
        />
      </div>
      <div className="tsp-TaskStream-chart">
        <div className="tsp-Hint">Memory of each engine</div>
        <canvas ref={memory} style={{ height: SERIES_HEIGHT }} aria-label="Memory of each engine" />
      </div>
    </div>
  );
}
