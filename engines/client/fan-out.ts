import type { EngineId } from "../wire/protocol/messages.js";

/** Engines of one other host that get a value through one of them, the relay. */
export interface HostGroup {
  /** The engine the client sends the value to; it places it in its store for the group. */
  relay: EngineId;
  /** Every engine of the group, the relay included, in the targets' order. */
  targets: EngineId[];
}

/** How one value reaches several engines (see {@link planFanOut}). */
export interface FanOut {
  /** Engines that map this client's store: the value is placed there once for all of them. */
  local: EngineId[];
  /** Engines of other hosts, by host: the value goes to each host once. */
  hosts: HostGroup[];
  /** The others: a copy each, over their lanes or through the controller. */
  copies: EngineId[];
}

/** What {@link planFanOut} needs to know about each target. */
export interface FanOutFacts {
  /** True when the engine maps this client's store. */
  sharesMemory(id: EngineId): boolean;
  /**
   * The engine's host identity when a value may go to its host through a relay (the engine has a
   * store, this client a lane to it), else undefined.
   */
  relayHost(id: EngineId): string | undefined;
  /** This client's tasks in flight on the engine: the least busy engine of a host relays. */
  load(id: EngineId): number;
}

/**
 * Splits the targets of one value: those that share this client's memory, groups of two or more
 * that share another host's memory and can be reached by lanes (when `relay` is on: the value is
 * large enough to be worth it), and the rest. A host with one target gets a copy, as there is
 * nothing to share.
 */
export function planFanOut(targets: readonly EngineId[], facts: FanOutFacts, relay: boolean): FanOut {
  const local: EngineId[] = [];
  const copies: EngineId[] = [];
  const byHost = new Map<string, EngineId[]>();
  for (const t of targets) {
    if (facts.sharesMemory(t)) {
      local.push(t);
      continue;
    }
    const host = relay ? facts.relayHost(t) : undefined;
    if (host === undefined) copies.push(t);
    else if (byHost.has(host)) byHost.get(host)!.push(t);
    else byHost.set(host, [t]);
  }
  const hosts: HostGroup[] = [];
  for (const group of byHost.values()) {
    if (group.length < 2) {
      copies.push(...group);
      continue;
    }
    let relayId = group[0]!;
    for (const t of group) if (facts.load(t) < facts.load(relayId)) relayId = t;
    hosts.push({ relay: relayId, targets: group });
  }
  return { local, hosts, copies };
}
