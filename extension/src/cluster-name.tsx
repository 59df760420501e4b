import * as React from "react";

/** Characters kept whole at a long name's end: a notebook cluster's number, a name's last word. */
const TAIL = 8;
/** Longer names than this do not fit beside a card's buttons in the default sidebar width. */
const WIDE = 12;

/**
 * A cluster's name that stays readable in the narrow sidebar: when the name does not fit, its
 * middle gives way (`nb-01-dir…views-1`), not its end, since names that share a beginning (one
 * notebook's clusters) differ at the end. The full name is the tooltip, and the text itself (the ellipsis is drawn, not written).
 */
export function ClusterName({ name }: { name: string }): React.ReactElement {
  const split = name.length > TAIL * 2 ? name.length - TAIL : name.length;
  // A long name gets a row of its own in a card's header (the buttons wrap below it): beside
  // them it would keep a letter or two.
  const wide = name.length > WIDE ? " tsp-Cluster-name-wide" : "";
  return (
    <span className={`tsp-Cluster-name${wide}`} title={name}>
      <span className="tsp-Cluster-name-head">{name.slice(0, split)}</span>
      {split < name.length && <span className="tsp-Cluster-name-tail">{name.slice(split)}</span>}
    </span>
  );
}
