import * as React from "react";

/** Props of {@link NewClusterForm}. */
export interface NewClusterFormProps {
  /** Names already taken (the form suggests a free one). */
  taken: readonly string[];
  /** The default engine count (the machine's cores). */
  cores: number;
  busy: boolean;
  /** Starts the cluster; resolves true when it started (the form then closes). */
  onStart(name: string, n: number): Promise<boolean>;
  onCancel(): void;
}

const NAME = /^[\w.-]+$/;

/** A free name: "default" first (the one %px uses by itself), then cluster-2, cluster-3, … */
function suggestName(taken: readonly string[]): string {
  if (!taken.includes("default")) return "default";
  for (let i = 2; ; i++) if (!taken.includes(`cluster-${i}`)) return `cluster-${i}`;
}

/** Name and engine count of a new local cluster. */
export function NewClusterForm(props: NewClusterFormProps): React.ReactElement {
  const [name, setName] = React.useState(() => suggestName(props.taken));
  const [n, setN] = React.useState(String(props.cores));
  const count = Number(n);
  const problem = !NAME.test(name)
    ? "A name may use letters, digits, “.”, “_” and “-”."
    : props.taken.includes(name)
      ? `There is already a cluster named “${name}”.`
      : !(n.trim() !== "" && Number.isInteger(count) && count >= 0 && count <= 256)
        ? "The engine count is a whole number from 0 to 256."
        : null;
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (problem === null && (await props.onStart(name, count))) props.onCancel();
  };
  return (
    <form className="tsp-NewCluster" onSubmit={submit} aria-label="New cluster">
      <div className="tsp-Cluster-controls">
        <label className="tsp-Field">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Cluster name" />
        </label>
        <label className="tsp-Field">
          Engines
          <input
            type="number"
            min={0}
            max={256}
            value={n}
            onChange={(e) => setN(e.target.value)}
            aria-label="Number of engines"
          />
        </label>
      </div>
      {problem && <div className="tsp-Hint">{problem}</div>}
      {count > props.cores && problem === null && (
        <div className="tsp-Hint">
          More engines than cores ({props.cores}): CPU-bound tasks will not run faster.
        </div>
      )}
      <div className="tsp-Cluster-controls">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept tsp-Button"
          disabled={props.busy || problem !== null}
        >
          {props.busy ? "Starting…" : "Start"}
        </button>
        <button type="button" className="jp-mod-styled jp-mod-reject tsp-Button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
