import { loadNativeAddon } from "../../ndarray/node/native-addon.js";
import { hostIdentity } from "../store/host-identity.js";
import { defaultStoreLimit, type Holder, ObjectStore, STORE_THRESHOLD } from "../store/object-store.js";
import { StoreError } from "../store/store-error.js";
import { StoreMapper } from "../store/store-mapper.js";
import type { StoreBlock, StoreRef } from "../store/store-ref.js";
import type { Header } from "../wire/protocol/frames.js";
import { MessageCodec } from "../wire/protocol/message-codec.js";
import type {
  EngineId,
  EngineInfo,
  Message,
  ReplyMetadata,
  Route,
  TaskMetadata,
  TaskRequestType,
} from "../wire/protocol/messages.js";
import { ReplayGuard } from "../wire/protocol/replay-guard.js";
import { ndarrayMemory } from "../wire/values/ndarray-link.js";
import type { DecodeOptions, StorePlacer } from "../wire/values/serialize.js";
import { arrayBytes, encodeValueNow, isNDArray } from "../wire/values/serialize.js";
import type { ControllerLink } from "./controller-link.js";
import { EngineLane } from "./engine-lane.js";
import type { ClusterError } from "./errors.js";
import { type FanOut, type HostGroup, planFanOut } from "./fan-out.js";
import { type GatherLanding, LandingRegistry } from "./gather-landing.js";
import type { OutgoingTask, TaskListener } from "./outgoing-task.js";
import { joinStoredParts } from "./stored-gather.js";
import type { TransferStats } from "./transfer-stats.js";

/** A load-balanced task whose arrays add up to this much is sent by assignment (see {@link TaskRouter.sendAssigned}). */
const ASSIGNED_LANE_BYTES = 1 << 20;
/** Arrays of this many bytes or more in a value sent to several engines of another host go there once. */
const RELAY_BYTES = STORE_THRESHOLD;
/** How many lane task ids the router remembers (for load-balanced tasks that depend on them). */
const REMEMBERED_LANE_TASKS = 10_000;

/** How often a store short of room may ask engines to collect garbage, in ms. */
const COLLECT_EVERY_MS = 1000;

/** How the client's store is set up (see Client.connect). */
export interface StoreSetting {
  /** False: no store, every array goes over lanes or the controller. */
  enabled: boolean;
  /** Its size limit in bytes (default: TSPARALLEL_STORE_BYTES, else a quarter of memory). */
  limit?: number;
}

/** A task sent by assignment: everything but its payload, which is encoded while the controller picks. */
export type AssignedTask<T extends TaskRequestType = TaskRequestType> = Omit<
  OutgoingTask<T>,
  "buffers" | "sent"
>;

/**
 * The client's task path: which way each task goes. A direct view's task goes over its engine's
 * lane when the engine offers one (one TCP hop each way), else through the controller; a
 * load-balanced task goes through the controller, carrying the lane tasks it depends on (the
 * controller hears of those only when their engines record them); a large load-balanced task is
 * scheduled without its payload, which then takes the chosen engine's lane. Lanes are opened on
 * first use and replaced when they break; one that cannot connect sends its tasks through the
 * controller for good.
 */
export class TaskRouter {
  readonly #lanes = new Map<EngineId, EngineLane>();
  readonly #laneTasks = new Map<string, EngineId>();
  /** Signatures accepted lately on any of this client's lanes (one bounded history for all). */
  readonly #laneReplays = new ReplayGuard();
  /** Gathers whose parts land in their joined result (see gather-landing.ts). */
  readonly landings = new LandingRegistry();
  /** The same-host object store: made on first use; null when there can be none here. */
  #store: ObjectStore | null | undefined;
  /** Maps engines' store blocks that replies name: made on first use; null when none can be. */
  #mapper: StoreMapper | null | undefined;
  /**
   * How replies are decoded: arrays an engine on this host placed in its store are mapped here
   * (copy-on-write), and released to the engine when collected.
   */
  readonly decoding: DecodeOptions = {
    map: (ref) => (ref.owner === this.#store?.owner ? this.#ownBlock(ref) : this.#replyMapper().map(ref)),
  };
  /** This client's mappings of the blocks gathers are written into, until their replies are decoded. */
  readonly #destinations = new Map<number, WeakRef<ArrayBuffer>>();
  /** The byte size of each part of the last scatter or gather of a name, by name and targets. */
  readonly #partSizes = new Map<string, number[]>();
  #lastCollect = 0;
  /** Bytes of lanes that closed, per engine (see transferStats). */
  readonly #closedLaneBytes = new Map<EngineId, { sent: number; received: number }>();
  readonly #relays = { values: 0, engines: 0, failed: 0 };

  constructor(
    private readonly link: ControllerLink,
    private readonly engines: ReadonlyMap<EngineId, EngineInfo>,
    /** Direct tasks take lanes (false: everything through the controller). */
    public useLanes: boolean,
    /** How the store is set up; read when it is first made. */
    private readonly storeSetting: StoreSetting = { enabled: process.env.TSPARALLEL_STORE !== "0" },
    /** Large values for several engines of another host go there once (see placeOnHost). */
    public useRelays = process.env.TSPARALLEL_RELAYS !== "0",
  ) {}

  /** Whose store blocks this client's are: its session. */
  get storeOwner(): string {
    return this.link.sock.session;
  }

  /** The store, made on first use; undefined when there can be none (no addon, not Linux, turned off). */
  get store(): ObjectStore | undefined {
    if (this.#store === undefined) {
      this.#store = null;
      if (this.storeSetting.enabled && hostIdentity()) {
        try {
          this.#store = new ObjectStore(loadNativeAddon(), this.link.sock.session, {
            limit: this.storeSetting.limit ?? defaultStoreLimit(),
          });
        } catch {
          // no addon (no C compiler at install): arrays travel over lanes
        }
      }
    }
    return this.#store ?? undefined;
  }

  #replyMapper(): StoreMapper {
    if (this.#mapper === undefined) {
      this.#mapper = null;
      try {
        this.#mapper = new StoreMapper(loadNativeAddon(), (owner, blocks) => {
          if (!this.link.lostReason)
            void this.link.sock.send("store_release", { owner, blocks }).catch(() => {});
        });
      } catch {
        // no addon: engines never place replies for this client (its session does not ask them to)
      }
    }
    if (!this.#mapper)
      throw new StoreError(
        "STORE_UNAVAILABLE",
        "a reply lies in an engine's shared memory, which this client cannot map",
      );
    return this.#mapper;
  }

  /** Remembers the byte size of each part of a scatter or gather of `name` over `targets`. */
  rememberParts(name: string, targets: readonly EngineId[], parts: readonly unknown[]): void {
    const key = `${name}|${targets.join(",")}`;
    const sizes = parts.map(arrayPartBytes);
    if (sizes.every((n) => n >= STORE_THRESHOLD)) this.#partSizes.set(key, sizes);
    else this.#partSizes.delete(key);
    if (this.#partSizes.size > 256) this.#partSizes.delete(this.#partSizes.keys().next().value!);
  }

  /**
   * For a gather of `name` over `targets` whose parts' sizes are known (from the last scatter or
   * gather) and whose engines share this host: one block of this client's store, each engine told
   * where to write its part, so the parts land in place and the joined result is that block, with
   * no copy here. Returns each target's pull value frames (made once the block is found), or
   * undefined to gather the ordinary way. An engine whose part has another size replies as usual.
   */
  gatherInto(name: string, targets: readonly EngineId[]): ((i: number) => Promise<Buffer[]>) | undefined {
    const store = this.store;
    const sizes = this.#partSizes.get(`${name}|${targets.join(",")}`);
    if (
      !store ||
      !sizes ||
      sizes.length !== targets.length ||
      !targets.every((t) => this.sharesMemoryWith(t))
    )
      return undefined;
    const total = sizes.reduce((n, s) => n + s, 0);
    let found: Promise<{ ref: StoreRef; memory: ArrayBuffer } | undefined> | undefined;
    const block = () =>
      (found ??= store.allocateWarm(total).then((b) => {
        if (!b) return undefined;
        const memory = store.ownMapping(b, false);
        for (const [id, ref] of this.#destinations) if (!ref.deref()) this.#destinations.delete(id);
        this.#destinations.set(b.id, new WeakRef(memory));
        return { ref: store.ref(b, true), memory };
      }));
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((n, s) => n + s, 0));
    return async (i) => {
      const dest = await block();
      if (!dest) return [];
      return encodeValueNow({ into: [{ ref: dest.ref, at: starts[i], length: sizes[i] }] }) as Buffer[];
    };
  }

  /** This client's own mapping of a gather's destination block (its parts are views of it). */
  #ownBlock(ref: StoreRef): ArrayBuffer {
    const memory = this.#destinations.get(ref.block)?.deref();
    if (!memory)
      throw new StoreError(
        "STORE_UNREACHABLE",
        "a reply names a destination block this client no longer has",
      );
    return memory;
  }

  /**
   * A gather's parts joined through the stores (see stored-gather.ts), or undefined to join them
   * the ordinary way.
   */
  async joinStored(parts: readonly unknown[]): Promise<unknown> {
    const store = this.#store;
    const mapper = this.#mapper;
    if (!store || !mapper) return undefined;
    return joinStoredParts(parts, store, mapper, ndarrayMemory);
  }

  /** True when engine `id` can map this client's store blocks (same host, addon on both sides). */
  sharesMemoryWith(id: EngineId): boolean {
    const host = this.engines.get(id)?.host_id;
    return host !== undefined && host === hostIdentity() && this.store !== undefined;
  }

  /**
   * Where a task's large arrays go: a placer over this client's store when every engine the task
   * may reach shares its memory (its target; any engine a load-balanced task may run on), else
   * undefined (frames over lanes or the controller). `targets` makes one placer for a value sent
   * to several engines at once, each of which holds what it is sent.
   */
  placer(route: Route, targets?: readonly EngineId[]): StorePlacer | undefined {
    const store = this.store;
    if (!store) return undefined;
    const reach =
      targets ?? (route.kind === "direct" ? [route.target] : (route.targets ?? [...this.engines.keys()]));
    if (!reach.length || !reach.every((id) => this.sharesMemoryWith(id))) return undefined;
    const holders: Holder[] = route.kind === "lb" && !targets ? ["lb"] : [...reach];
    const retain = (id: number) => {
      const block = store.block(id);
      if (!block) return false;
      for (const h of holders) store.retain(block, h);
      return true;
    };
    return {
      threshold: STORE_THRESHOLD,
      place: (length) => {
        const block = store.allocate(length);
        if (!block) {
          this.collect();
          return undefined;
        }
        // Engines collect by themselves only every few hundred MiB they map (see StoreMapper): a
        // store past half full asks them now, before a call finds no room and takes the lanes.
        if (store.used > store.options.limit / 2) this.collect();
        retain(block.id);
        return { bytes: store.bytesOf(block), ref: store.ref(block) };
      },
      hold: (ref) => ref.owner === store.owner && retain(ref.block),
      copy: (into, from) => store.copy(into, from),
      discard: (ref) => {
        for (const h of holders) store.release(ref.block, h);
      },
    };
  }

  /**
   * How a value with `bytes` of arrays reaches `targets`: through this client's store for engines
   * of its host, through one engine per other host for two or more engines there (when the value
   * is large, lanes and relays are on, and those engines have a store), else a copy each.
   */
  fanOut(targets: readonly EngineId[], bytes: number): FanOut {
    return planFanOut(
      targets,
      {
        sharesMemory: (id) => this.sharesMemoryWith(id),
        relayHost: (id) => {
          const host = this.engines.get(id)?.host_id;
          return host !== undefined && this.#laneTo(id) ? host : undefined;
        },
        load: (id) => this.#lanes.get(id)?.inFlight ?? 0,
      },
      this.useRelays && this.useLanes && bytes >= RELAY_BYTES,
    );
  }

  /**
   * Sends a value (its encoded `frames`) once to `group.relay`, which places its arrays in its own
   * store for every engine of the group (`store_place_request`) and answers with the value's
   * frames naming the blocks: what each engine of the group is then sent, a few hundred bytes.
   * Undefined when the placement failed (no lane, no room there): then each gets a copy.
   */
  async placeOnHost(
    group: HostGroup,
    frames: readonly Uint8Array[],
  ): Promise<{ frames: Buffer[]; blocks: StoreBlock[] } | undefined> {
    const lane = this.#laneTo(group.relay);
    const owner = this.engines.get(group.relay)?.uuid;
    const holders = group.targets.flatMap((id) => {
      const info = this.engines.get(id);
      return info ? [{ uuid: info.uuid, pid: info.pid }] : [];
    });
    const reply = lane && owner ? await lane.place(frames, holders) : undefined;
    if (reply?.content.status !== "ok" || !owner) {
      this.#relays.failed++;
      return undefined;
    }
    this.#relays.values++;
    this.#relays.engines += holders.length;
    return { frames: reply.buffers, blocks: reply.content.blocks.map((block) => ({ block, owner })) };
  }

  /** What this client's lanes carried, and how its values reached other hosts (see Client.transferStats). */
  transferStats(): TransferStats {
    const bytes = new Map(this.#closedLaneBytes);
    for (const [id, lane] of this.#lanes) {
      const closed = bytes.get(id) ?? { sent: 0, received: 0 };
      const now = lane.bytes;
      bytes.set(id, { sent: closed.sent + now.sent, received: closed.received + now.received });
    }
    return {
      lanes: [...bytes]
        .sort(([a], [b]) => a - b)
        .map(([engine, b]) => ({ engine, sent: b.sent, received: b.received })),
      relays: { ...this.#relays },
    };
  }

  /** Keeps what a lane carried before it goes. */
  #retire(id: EngineId, lane: EngineLane | undefined): void {
    if (!lane) return;
    const closed = this.#closedLaneBytes.get(id) ?? { sent: 0, received: 0 };
    const b = lane.bytes;
    this.#closedLaneBytes.set(id, { sent: closed.sent + b.sent, received: closed.received + b.received });
  }

  /** Asks every engine to collect garbage (at most once a second): the store is short of room. */
  collect(): void {
    const now = Date.now();
    if (now - this.#lastCollect < COLLECT_EVERY_MS || this.link.lostReason) return;
    this.#lastCollect = now;
    void this.link.sock.send("store_collect", {});
  }

  /** An engine released blocks of this client's store. */
  released(engine: EngineId, blocks: readonly number[]): void {
    const store = this.#store;
    if (store) for (const b of blocks) store.releaseFromEngine(b, engine);
  }

  /** A header for a task of `type` in this client's session. */
  header<T extends TaskRequestType>(type: T): Header<T> {
    return this.link.sock.header(type);
  }

  /** Sends one task the fastest way to its engine. */
  send(task: OutgoingTask): void {
    if (task.metadata.store?.length) task = this.#withStoreHolds(task);
    const route = task.metadata.route;
    if (route.kind === "direct") {
      const lane = this.#laneTo(route.target);
      if (lane) {
        lane.submit(task);
        this.#remember(task.header.msg_id, route.target);
        return;
      }
    }
    const metadata = this.#withLaneDeps(task.metadata);
    this.link.submit(metadata === task.metadata ? task : { ...task, metadata });
  }

  /**
   * Sends a load-balanced task whose arrays add up to 1 MiB or more (and has no retries) by
   * assignment: the controller schedules it without its payload (dependencies, high-water mark
   * and strategy as usual) and names the engine; only then is the payload (taken when the call
   * was made) sent, over that engine's lane (or through the controller to that engine if there is
   * no lane), so it takes one hop. Failures before the assignment (an abort, no engine left)
   * come back from the controller. Returns false when the task should go the ordinary way.
   */
  sendAssigned(
    task: AssignedTask,
    payloadBytes: number,
    encode: () => Promise<{ buffers: readonly Uint8Array[]; sent?: () => void }>,
  ): boolean {
    const route = task.metadata.route;
    if (!this.useLanes || route.kind !== "lb" || route.retries || payloadBytes < ASSIGNED_LANE_BYTES)
      return false;
    const { listener } = task;
    const relay: TaskListener = {
      output: (msg) => {
        if (msg.header.msg_type !== "task_assigned") return listener.output(msg);
        const engine = (msg as Message<"task_assigned">).content.engine;
        const metadata: TaskMetadata = {
          ...task.metadata,
          assigned: engine,
          route: { kind: "direct", target: engine },
        };
        this.link.forget(task.header.msg_id);
        encode()
          .then(({ buffers, sent }) => {
            const lane = this.#laneTo(engine);
            const assigned: OutgoingTask = { ...task, metadata, buffers, sent };
            if (lane) {
              lane.submit(assigned);
              this.#remember(task.header.msg_id, engine);
            } else this.link.submit(assigned);
          })
          .catch((e: unknown) => listener.lost(e as Error));
      },
      reply: (msg) => listener.reply(msg),
      lost: (err) => listener.lost(err),
    };
    const metadata = { ...this.#withLaneDeps(task.metadata), assign: true };
    this.link.submit({ ...task, metadata, buffers: [], listener: relay });
    return true;
  }

  /** Asks every open lane to drop those of `msgIds` it holds and has not started; resolves with them. */
  async abort(msgIds: readonly string[]): Promise<string[]> {
    return (await Promise.all([...this.#lanes.values()].map((l) => l.abort(msgIds)))).flat();
  }

  /**
   * Starts landing a gather's parts (the replies to `msgIds`) in its result, when each comes over
   * a lane of its own: two parts on one connection would wait for each other, and a part relayed
   * by the controller would hold the lanes until all of it is in.
   */
  openLanding(targets: readonly EngineId[], msgIds: readonly string[]): GatherLanding | undefined {
    if (targets.length < 2 || new Set(targets).size !== targets.length) return undefined;
    if (!targets.every((t) => this.#laneTo(t))) return undefined;
    return this.landings.open(msgIds);
  }

  /**
   * Opens lanes to engines ahead of their first task, all at once and without waiting: accepting a
   * connection costs an engine a few wake-ups (~3 ms each here), which a first call to 64 engines
   * would otherwise wait for on top of its tasks.
   */
  openLanes(ids: Iterable<EngineId>): void {
    for (const id of ids) this.#laneTo(id);
  }

  /** The controller reports engine `id` gone: its lane's tasks in flight fail, its store holds end. */
  engineGone(id: EngineId, reason: string | undefined): void {
    this.#lanes.get(id)?.engineGone(reason);
    this.#retire(id, this.#lanes.get(id));
    this.#lanes.delete(id);
    this.#store?.holderGone(id);
  }

  /**
   * A task carrying store blocks: when its reply says which engine ran it, a load-balanced task's
   * holds become that engine's (its release, or its death, ends them); a task the controller
   * answered itself never reached an engine that lives, so its holds end.
   */
  #withStoreHolds(task: OutgoingTask): OutgoingTask {
    const store = this.#store;
    const blocks = task.metadata.store!;
    const route = task.metadata.route;
    const holder: Holder = route.kind === "direct" ? route.target : "lb";
    // Blocks an engine placed for its host are that engine's to keep.
    if (!store || task.metadata.store_owner !== undefined) return task;
    const { listener } = task;
    return {
      ...task,
      listener: {
        output: (msg) => listener.output(msg),
        reply: (msg) => {
          const engine = (msg.metadata as Partial<ReplyMetadata>).engine_id;
          for (const b of blocks) {
            if (typeof engine === "number" && engine >= 0) {
              if (holder === "lb") store.transfer(b, "lb", engine);
            } else store.release(b, holder);
          }
          listener.reply(msg);
        },
        lost: (err) => {
          if (holder === "lb") for (const b of blocks) store.release(b, "lb");
          listener.lost(err);
        },
      },
    };
  }

  /** Closes every lane; tasks in flight on them fail with `err` (engines leave with their controller). */
  close(err?: ClusterError): void {
    for (const [id, l] of this.#lanes) {
      l.close(err);
      this.#retire(id, l);
    }
    this.#lanes.clear();
  }

  /** The client is closing: its store goes (blocks engines still map live on until they unmap). */
  closeStore(): void {
    this.#mapper?.close();
    this.#mapper = null;
    this.#store?.close();
    this.#store = null;
  }

  #remember(msgId: string, engine: EngineId): void {
    this.#laneTasks.set(msgId, engine);
    if (this.#laneTasks.size > REMEMBERED_LANE_TASKS)
      this.#laneTasks.delete(this.#laneTasks.keys().next().value!);
  }

  /** The controller learns of lane tasks when they finish: a task names the ones it waits for. */
  #withLaneDeps(metadata: TaskMetadata): TaskMetadata {
    const route = metadata.route;
    if (route.kind !== "lb" || !this.#laneTasks.size || !(route.after?.length || route.follow?.length))
      return metadata;
    const lane: Record<string, EngineId> = {};
    for (const id of [...(route.after ?? []), ...(route.follow ?? [])]) {
      const engine = this.#laneTasks.get(id);
      if (engine !== undefined) lane[id] = engine;
    }
    return Object.keys(lane).length ? { ...metadata, route: { ...route, lane } } : metadata;
  }

  /** The open (or opening) lane to engine `id`, or undefined to go through the controller. */
  #laneTo(id: EngineId): EngineLane | undefined {
    if (!this.useLanes) return undefined;
    const existing = this.#lanes.get(id);
    if (existing?.state === "refused") return undefined;
    if (existing && existing.state !== "broken") return existing;
    const info = this.engines.get(id);
    if (!info?.lane) return undefined;
    this.#retire(id, existing);
    const lane = new EngineLane(
      info as EngineInfo & { lane: string },
      new MessageCodec(this.link.sock.signer, this.link.sock.session, "client lane", "receiver", {
        replays: this.#laneReplays,
      }),
      (t) => this.link.submit(t),
      this.landings.place,
      this.link.info.encrypted === true,
    );
    this.#lanes.set(id, lane);
    return lane;
  }
}

/** The bytes of a part that is one typed array or NDArray (0 for anything else). */
function arrayPartBytes(part: unknown): number {
  return ArrayBuffer.isView(part) || isNDArray(part) ? arrayBytes(part, 0) : 0;
}
