import type {
  ContentByType,
  EngineId,
  EngineInfo,
  EngineState,
  EngineStatus,
} from "../wire/protocol/messages.js";

/** The controller's view of one engine. */
export interface EngineRecord {
  info: EngineInfo;
  /** Routing id of its task socket. */
  identity: Buffer;
  /** Routing id of its heart. */
  heart: Buffer;
  /** Routing id of its signal thread (engines on another host). */
  signals?: Buffer;
  state: EngineState;
  /** msg_ids sent to it and not yet answered. */
  outstanding: Set<string>;
  completed: number;
  /** Moving average of its task run times in ms (sets how many tasks it may hold). */
  taskMs: number;
  /** A run time far above `taskMs` seen in its last reply and not yet confirmed by the next (0: none). */
  unconfirmedMs: number;
  /** When its last reply arrived (`performance.now()`), to tell a busy stream of tasks from a pause. */
  lastReplyAt: number;
  lastAssigned: number;
  lastPong: number;
  /** The host it runs on (its shared-memory identity, else its host name): engines share its cores. */
  host: string;
  /** Cores its host lets it use (0: not said). */
  cpus: number;
  /** Stopped on purpose (SIGSTOP through the controller): silent hearts are expected until SIGCONT. */
  paused?: boolean;
  status: EngineStatus;
}

/** Registered engines by id, uuid and heart identity. Ids are never reused. */
export class EngineRegistry {
  readonly #byId = new Map<EngineId, EngineRecord>();
  readonly #byUuid = new Map<string, EngineRecord>();
  readonly #byHeart = new Map<string, EngineRecord>();
  #nextId = 0;
  /** Every id ever given (ids are never reused). */
  readonly #given = new Set<EngineId>();

  /**
   * Adds an engine and gives it the id it asks for (an MPI engine asks for its rank) when no
   * engine ever had that id, otherwise the next unused one.
   */
  register(req: ContentByType["registration_request"]): EngineRecord {
    const { uuid, pid, hostname, heart, lane, signals, host_id, cpus } = req;
    const existing = this.#byUuid.get(uuid);
    if (existing) return existing;
    const wanted = req.id;
    let id: EngineId;
    if (wanted !== undefined && Number.isInteger(wanted) && wanted >= 0 && !this.#given.has(wanted))
      id = wanted;
    else {
      while (this.#given.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    }
    this.#given.add(id);
    const rec: EngineRecord = {
      info: { id, uuid, pid, hostname, ...(lane ? { lane } : {}), ...(host_id ? { host_id } : {}) },
      identity: Buffer.from(uuid),
      heart: Buffer.from(heart),
      ...(signals ? { signals: Buffer.from(signals) } : {}),
      state: "idle",
      outstanding: new Set(),
      completed: 0,
      taskMs: 1,
      unconfirmedMs: 0,
      lastReplyAt: Number.NEGATIVE_INFINITY,
      lastAssigned: 0,
      lastPong: Date.now(),
      host: host_id ?? hostname,
      cpus: Number.isSafeInteger(cpus) && cpus! > 0 ? cpus! : 0,
      status: { busy: false, queued: 0, rss: 0 },
    };
    this.#byId.set(id, rec);
    // Keep id order (ranks may register in any order).
    if ([...this.#byId.keys()].some((k) => k > id)) {
      const sorted = [...this.#byId].sort((x, y) => x[0] - y[0]);
      this.#byId.clear();
      for (const [k, v] of sorted) this.#byId.set(k, v);
    }
    this.#byUuid.set(uuid, rec);
    this.#byHeart.set(heart, rec);
    return rec;
  }

  get(id: EngineId): EngineRecord | undefined {
    return this.#byId.get(id);
  }

  byUuid(uuid: string): EngineRecord | undefined {
    return this.#byUuid.get(uuid);
  }

  byHeart(heart: string): EngineRecord | undefined {
    return this.#byHeart.get(heart);
  }

  byPid(pid: number): EngineRecord | undefined {
    for (const r of this.#byId.values()) if (r.info.pid === pid && r.state !== "dead") return r;
    return undefined;
  }

  /** Engines that are not dead, in id order. */
  alive(): EngineRecord[] {
    return [...this.#byId.values()].filter((r) => r.state !== "dead");
  }

  /** Marks an engine dead and forgets it (its id is not reused). Returns false if it already was. */
  remove(id: EngineId): boolean {
    const rec = this.#byId.get(id);
    if (!rec || rec.state === "dead") return false;
    rec.state = "dead";
    this.#byId.delete(id);
    this.#byUuid.delete(rec.info.uuid);
    this.#byHeart.delete(rec.heart.toString());
    return true;
  }
}
