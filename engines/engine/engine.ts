import { randomUUID } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import process from "node:process";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";
import { Worker } from "node:worker_threads";
import { Dealer } from "zeromq";
import { loadNativeAddon } from "../../ndarray/node/native-addon.js";
import {
  controllerPidHere,
  PAUSED_GRACE_MS,
  PRESENCE_CHECK_MS,
  silentController,
} from "../controller-presence.js";
import { IdleCollector } from "../idle-collector.js";
import { SIGNALLED_BY_PID } from "../launchers/local-launcher.js";
import { processAlive } from "../launchers/process-alive.js";
import { collectGarbage, lastFullCollection } from "../store/collect-garbage.js";
import type { CoreBoardRef } from "../store/core-board.js";
import { hostIdentity, hostTag, sessionHost } from "../store/host-identity.js";
import { defaultStoreLimit, ObjectStore, STORE_THRESHOLD } from "../store/object-store.js";
import { MAPPED_BYTES_PER_COLLECTION, StoreMapper } from "../store/store-mapper.js";
import type { ConnectionInfo } from "../wire/protocol/connection-file.js";
import { type MessageCodec as Codec, MessageCodec } from "../wire/protocol/message-codec.js";
import { dispatch, UNHANDLED } from "../wire/protocol/message-table.js";
import type { AnyMessage, ContentByType, EngineId, Message } from "../wire/protocol/messages.js";
import { ReplayGuard } from "../wire/protocol/replay-guard.js";
import { Signer } from "../wire/protocol/signing.js";
import { controllerCredentials } from "../wire/transport/controller-auth.js";
import { SendArena } from "../wire/transport/send-arena.js";
import { SignedSocket } from "../wire/transport/signed-socket.js";
import type { StreamSocket } from "../wire/transport/stream-socket.js";
import { formatMimeBundle, type MimeBundle, mimeShortcuts } from "../wire/values/mime-bundle.js";
import type { StorePlacer } from "../wire/values/serialize.js";
import { CoreShare } from "./core-share.js";
import { controllerHandlers, type EngineParts, laneHandlers } from "./engine-handlers.js";
import { Heart } from "./heart.js";
import { checkHolders, HostPlacement } from "./host-placement.js";
import { LaneServer, laneAddress } from "./lane-server.js";
import { WARM_UP_SESSION, warmUpLane } from "./lane-warm-up.js";
import { Namespace } from "./namespace.js";
import { OutputCapture } from "./output-capture.js";
import { type SigintKeeper, startSigintKeeper } from "./sigint-keeper.js";
import type { SignalThreadData } from "./signal-worker.js";
import { StatusReporter } from "./status-reporter.js";
import { TaskRunner } from "./task-runner.js";
import { TaskSpans } from "./task-spans.js";

/** How long an engine waits for its controller to answer registration (env: slow links). */
const REGISTRATION_TIMEOUT_MS = Number(process.env.TSPARALLEL_REGISTRATION_TIMEOUT_MS) || 30_000;
/** How often the request is repeated while no answer has come. */
const REGISTRATION_REPEAT_MS = 5_000;
/** How long an engine outlives a lost controller connection before exiting (no orphans). */
const ORPHAN_GRACE_MS = 3_000;
/** How often an engine with replies in its store checks that their clients still run. */
const CLIENT_SWEEP_MS = 5_000;
/** How long after its last task an engine holding store blocks collects garbage, and how often at most. */
const IDLE_GC_DELAY_MS = 100;
const IDLE_GC_EVERY_MS = 200;
/** … and not within this many ms of a full collection V8 ran by itself. */
const IDLE_GC_QUIET_MS = 300;

/**
 * An engine process's lifecycle: it connects to the controller, starts its heart (and, on another
 * host than the controller, its signal thread), opens its lane, registers, and from then on hands
 * every message to the handler map of where it came from (engine-handlers.ts): tasks go to its
 * {@link TaskRunner}. It exits when asked, or when its controller has been unreachable for a few
 * seconds, so no engine outlives its cluster.
 */
export class Engine implements EngineParts {
  id: EngineId = -1;
  readonly uuid = randomUUID();
  readonly runner: TaskRunner;
  /** Maps clients' store blocks (undefined without the native addon, or with TSPARALLEL_STORE=0). */
  readonly store: StoreMapper | undefined;
  /**
   * This engine's own store: large replies to clients on its host, and values a client sends once
   * for the engines of this host (see host-placement.ts).
   */
  readonly replies: ObjectStore | undefined;
  readonly #placement: HostPlacement | undefined;
  #sweep: NodeJS.Timeout | undefined;
  readonly #sock: SignedSocket;
  readonly #ns: Namespace;
  readonly #signer: Signer;
  readonly #status: StatusReporter;
  readonly #spans: TaskSpans;
  #lanes: LaneServer | undefined;
  /** Lane messages that arrived before registration finished. */
  readonly #early: [AnyMessage, StreamSocket][] = [];
  #heart: Heart | undefined;
  #signals: Worker | undefined;
  #registered: ((id: EngineId) => void) | undefined;
  #orphanCheck: NodeJS.Timeout | undefined;
  /** Connections to the controller that are down (see #link). */
  readonly #linksDown = new Set<"tasks" | "heart">();
  #exiting = false;
  #gcTimer: NodeJS.Timeout | undefined;
  /** Gives memory back once the engine is quiet after a burst of tasks or of refused traffic. */
  readonly #collector = new IdleCollector({ rssGrowth: 1.25 });
  /** The runner's `mayHaveDropped` at the last idle collection: none is needed until it moves. */
  #collectedAfter = 0;
  /** This engine's share of its host's cores for large multiplies (engines on the controller's host). */
  #cores: CoreShare | undefined;
  #lastGc = 0;
  readonly #fromController = controllerHandlers(this);
  readonly #fromLanes = laneHandlers(this);

  /** The cluster encrypts its traffic (see ConnectionInfo.encrypted). */
  get encrypted(): boolean {
    return this.info.encrypted === true;
  }

  /** `requestedId`: the id to ask the controller for (an MPI rank); it may give another. */
  constructor(
    readonly info: ConnectionInfo,
    private readonly requestedId?: EngineId,
  ) {
    this.#signer = new Signer(info.key);
    const dealer = new Dealer({
      routingId: this.uuid,
      linger: 1000,
      ...controllerCredentials(this.#signer, this.encrypted),
    });
    this.#sock = new SignedSocket(dealer, this.#signer, this.uuid, "engine");
    const display = (data: MimeBundle, metadata: Record<string, unknown>) =>
      this.runner.display(data, metadata);
    this.#ns = new Namespace({
      display: Object.assign(
        (value: unknown, metadata: Record<string, unknown> = {}) =>
          display(formatMimeBundle(value), metadata),
        // display.html(…), display.png(…) …: the same shortcuts as in the kernel.
        Object.fromEntries(
          Object.entries(mimeShortcuts()).map(([name, bundle]) => [
            name,
            (...args: unknown[]) => display((bundle as (...a: unknown[]) => MimeBundle)(...args), {}),
          ]),
        ),
      ),
    });
    this.store = this.#storeMapper();
    if (this.store) lastFullCollection(); // watch collections from now on
    this.replies = this.store
      ? new ObjectStore(loadNativeAddon(), this.uuid, { limit: defaultStoreLimit() })
      : undefined;
    this.#placement = this.replies ? new HostPlacement(this.replies, () => this.#watchHolders()) : undefined;
    this.runner = new TaskRunner(
      this.#ns,
      new OutputCapture(),
      this.#sock,
      new SendArena(),
      () => {
        this.#status.changed();
        this.#cores?.busy(this.runner.busy);
      },
      this.store,
      () => this.#idle(),
      (session) => this.#replyPlacer(session),
    );
    this.runner.maxMessageBytes = info.max_message_bytes;
    this.#status = new StatusReporter(this.runner, (status) => void this.#sock.send("engine_status", status));
    this.#spans = new TaskSpans((spans) => this.#sock.send("task_spans", spans));
    this.runner.spans = this.#spans;
  }

  /** Connects, starts the heart, registers; resolves with the engine id. */
  async start(): Promise<EngineId> {
    const dealer = this.#sock.socket as Dealer;
    dealer.events.on("disconnect", () => this.#link("tasks", false));
    dealer.events.on("connect", () => this.#link("tasks", true));
    if (!this.info.ping_url)
      throw new Error(
        "the cluster's controller is from an older tsparallel (its connection file has no ping_url): restart the cluster",
      );
    // User code can outlive its task (a timer that throws, a promise nobody awaits): report it
    // (to the running task's stderr if there is one) and carry on, as a Python engine would.
    const stray = (e: unknown) =>
      void process.stderr.write(
        `[engine ${this.id}] uncaught error from code that outlived its task: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
    process.on("uncaughtException", stray);
    process.on("unhandledRejection", stray);
    const keeper = startSigintKeeper(() => this.#ns.interrupt());
    dealer.connect(this.info.engine_url);
    const heartId = `heart-${this.uuid}`;
    this.#heart = new Heart(
      this.info.ping_url,
      this.info.heartbeat_url,
      heartId,
      this.#signer,
      this.encrypted,
      (up) => this.#link("heart", up),
    );
    // The controller signals by pid only the engines its launcher started on its own host;
    // others (on another host, or started by hand) need a thread of their own.
    const byPid = this.info.controller_host === hostname() && process.env[SIGNALLED_BY_PID] === "1";
    const signals = byPid ? undefined : this.#startSignalThread();
    const registered = new Promise<EngineId>((resolve) => {
      this.#registered = resolve;
    });
    void this.#loop();
    const lane = process.env.TSPARALLEL_LANES === "0" ? undefined : await this.#openLanes();
    // Before registering: from then on a SIGINT must never kill an idle engine.
    const sigint: SigintKeeper = await keeper;
    this.#ns.onAwait = (on) => sigint.awaiting(on);
    const request = {
      uuid: this.uuid,
      pid: process.pid,
      hostname: hostname(),
      heart: heartId,
      ...(lane ? { lane } : {}),
      ...(signals ? { signals: await signals } : {}),
      ...(this.requestedId !== undefined ? { id: this.requestedId } : {}),
      ...(this.store && hostIdentity() ? { host_id: hostIdentity() } : {}),
      cpus: availableParallelism(),
    };
    // The wait counts from the request, not from the engine's start (hundreds of engines starting
    // on a few cores take a while to get there). The request is repeated meanwhile: the controller
    // answers a repeat as the first (registration is by uuid), and one answer is enough.
    // The first send waits for a connection that may never come (a controller that refuses the
    // key): the registration timeout bounds it too.
    void this.#sock.send("registration_request", request);
    const repeat = setInterval(
      () => void this.#sock.send("registration_request", request),
      REGISTRATION_REPEAT_MS,
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      this.id = await Promise.race([
        registered,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `no registration reply from ${this.info.engine_url} within ${REGISTRATION_TIMEOUT_MS} ms`,
                ),
              ),
            REGISTRATION_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearInterval(repeat);
      clearTimeout(timer);
    }
    this.runner.id = this.id;
    this.#watchController(); // a connection that went down while registering
    this.#status.start();
    this.#spans.start();
    for (const [msg, lane] of this.#early.splice(0)) this.#fromLane(msg, lane);
    return this.id;
  }

  /**
   * The engine has run dry. While it maps clients' store blocks, a garbage collection a moment
   * later (at most five times a second) finds the arrays its tasks dropped, so their blocks go back
   * to their stores. V8 does not count those mappings as memory (see StoreMapper), so it never
   * collects for them by itself: after every MAPPED_BYTES_PER_COLLECTION mapped, the engine
   * collects at once instead of waiting for quiet.
   */
  #idle(): void {
    if (!this.store?.live || this.runner.mayHaveDropped === this.#collectedAfter) return;
    if (this.store.mappedSinceCollection >= MAPPED_BYTES_PER_COLLECTION) {
      this.collectDropped();
      return;
    }
    if (this.#gcTimer) return;
    const wait = Math.max(IDLE_GC_DELAY_MS, this.#lastGc + IDLE_GC_EVERY_MS - Date.now());
    this.#gcTimer = setTimeout(() => {
      this.#gcTimer = undefined;
      if (this.runner.busy) return; // the next idle moment will do
      // Not while tasks keep coming (a flood leaves an engine idle for microseconds at a time),
      // nor right after a full collection (user code's allocations, or a run of large mappings
      // above, had V8 or this engine collect). The collection waits for a quiet moment.
      const now = performance.now();
      const quiet = Math.min(
        now - this.runner.idleSince - IDLE_GC_DELAY_MS,
        now - lastFullCollection() - IDLE_GC_QUIET_MS,
      );
      if (quiet < 0) {
        this.#gcTimer = setTimeout(() => {
          this.#gcTimer = undefined;
          this.#idle();
        }, -quiet);
        this.#gcTimer.unref();
        return;
      }
      this.collectDropped();
    }, wait);
  }

  /** {@link EngineParts}: a full collection for dropped mappings of clients' blocks. */
  collectDropped(): void {
    clearTimeout(this.#gcTimer);
    this.#gcTimer = undefined;
    this.#lastGc = Date.now();
    this.#collectedAfter = this.runner.mayHaveDropped;
    collectGarbage();
    this.store?.collected();
  }

  /**
   * Where a reply to the client with `session` places its large arrays: this engine's store, when
   * the session says the client runs on this host (see sessionName).
   */
  #replyPlacer(session: string): StorePlacer | undefined {
    const store = this.replies;
    const client = sessionHost(session);
    if (!store || !client || client.host !== hostTag()) return undefined;
    return {
      threshold: STORE_THRESHOLD,
      place: (length) => {
        const block = store.allocate(length);
        if (!block) return undefined;
        store.retain(block, session);
        this.#watchHolders();
        return { bytes: store.bytesOf(block), ref: store.ref(block) };
      },
      hold: () => false,
      discard: (ref) => {
        if (ref.owner === store.owner) store.release(ref.block, session);
      },
      copy: (into, from) => store.copy(into, from),
    };
  }

  /** Checks now and then that the holders of this engine's blocks still run. */
  #watchHolders(): void {
    this.#sweep ??= setInterval(() => this.#sweepHolders(), CLIENT_SWEEP_MS).unref();
  }

  /** A client or engine whose process has ended holds nothing (its mappings went with it). */
  #sweepHolders(): void {
    const store = this.replies!;
    for (const holder of store.holders()) {
      if (typeof holder !== "string") continue;
      const pid = sessionHost(holder)?.pid ?? this.#placement?.pidOf(holder);
      if (pid !== undefined && !processAlive(pid)) {
        store.holderGone(holder);
        this.#placement?.forget(holder);
      }
    }
    if (store.blocks === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** The store mapper, when this engine can map clients' shared memory. */
  #storeMapper(): StoreMapper | undefined {
    if (process.env.TSPARALLEL_STORE === "0") return undefined;
    try {
      return new StoreMapper(
        loadNativeAddon(),
        (owner, blocks) => void this.#sock.send("store_release", { owner, blocks }),
        false, // the engine collects by itself (see #idle)
      );
    } catch {
      return undefined; // no addon: clients send this engine every array over its lane
    }
  }

  /**
   * {@link EngineParts}: a client sends a value once for several engines of this host: placed in
   * this engine's store, answered with the frames that name its blocks (see host-placement.ts).
   */
  placeForHost(m: Message<"store_place_request">, lane: StreamSocket): void {
    const answer = (content: ContentByType["store_place_reply"], buffers: Buffer[] = []) =>
      void lane.send("store_place_reply", content, { parent: m.header, buffers });
    const placement = this.#placement;
    const holders = checkHolders(m.content.holders);
    if (!placement || !holders) {
      answer({
        status: "error",
        evalue: placement ? "the request names no engines to hold the value" : "this engine has no store",
      });
      return;
    }
    placement.place(m.buffers, holders).then(
      ({ frames, blocks }) => answer({ status: "ok", blocks }, frames),
      (e: Error) => answer({ status: "error", evalue: e.message }),
    );
  }

  /** {@link EngineParts}: the controller's registration reply gave this id. */
  registered(id: EngineId, board?: CoreBoardRef): void {
    if (board && !this.#cores && this.id < 0) {
      this.#cores = CoreShare.open(loadNativeAddon(), board);
      this.#cores?.busy(this.runner.busy);
    }
    this.#registered?.(id);
  }

  /** {@link EngineParts}: a message this engine dropped. */
  log(text: string): void {
    this.#sock.codec.log(text);
  }

  /**
   * A connection to the controller went down or came back. The heart's socket notices a link that
   * went silent without closing (see heart.ts); the task socket, a controller that closed. Before
   * registration the registration timeout decides instead, and says why.
   */
  #link(which: "tasks" | "heart", up: boolean): void {
    if (up) this.#linksDown.delete(which);
    else this.#linksDown.add(which);
    this.#watchController();
  }

  /**
   * While a connection to the controller is down: no orphans, but no engine lost to a pause
   * either. A controller on this host whose process still exists (stopped by SIGSTOP, stalled) is
   * waited for up to {@link PAUSED_GRACE_MS}, and the engine carries on where it was when it
   * answers again; any other is given {@link ORPHAN_GRACE_MS}, then the engine exits.
   */
  #watchController(): void {
    if (this.id < 0) return;
    if (this.#linksDown.size === 0) {
      clearInterval(this.#orphanCheck);
      this.#orphanCheck = undefined;
      return;
    }
    if (this.#orphanCheck) return;
    const pid = controllerPidHere(this.info);
    const since = Date.now();
    this.#orphanCheck = setInterval(() => {
      const waited = Date.now() - since;
      const stalled = silentController(pid) === "paused";
      if (waited < (stalled ? PAUSED_GRACE_MS : ORPHAN_GRACE_MS)) return;
      clearInterval(this.#orphanCheck);
      this.exit(
        0,
        stalled
          ? `the controller (pid ${pid}) has not answered for ${Math.round(waited / 1000)} s`
          : `lost the controller (${[...this.#linksDown].join(", ")} connection)`,
      );
    }, PRESENCE_CHECK_MS);
  }

  /**
   * Receives from the controller for the engine's life. Should the loop ever end or fail while the
   * engine is not exiting, the engine exits (code 1, saying why): an engine that still answers
   * heartbeats and lanes but no longer hears its controller would hold its tasks for ever, while
   * an exit is seen by the launcher and the controller fails those tasks with EngineError.
   */
  async #loop(): Promise<void> {
    let why = "the connection to the controller closed";
    try {
      for await (const msg of this.#sock.messages())
        this.#handle(msg, this.#sock, this.#fromController, "the controller");
    } catch (e) {
      why = `receiving from the controller failed: ${(e as Error).message}`;
    }
    if (!this.#exiting) this.exit(1, why);
  }

  #fromLane(msg: AnyMessage, lane: StreamSocket): void {
    this.#handle(msg, lane, this.#fromLanes, "a lane");
  }

  /** Hands `msg` to its handler; one that throws or is missing is logged, and the engine goes on. */
  #handle<Ctx>(
    msg: AnyMessage,
    ctx: Ctx,
    handlers: { readonly [type: string]: (msg: never, ctx: Ctx) => unknown },
    from: string,
  ): void {
    this.#collector.saw();
    try {
      if (dispatch(handlers, msg, ctx) === UNHANDLED)
        this.log(`ignoring ${msg.header.msg_type} from ${from}`);
    } catch (e) {
      this.log(`error handling ${msg.header.msg_type} from ${from}: ${(e as Error).message}`);
    }
  }

  /** Starts the lane server; resolves with its URL (undefined when it cannot listen). */
  async #openLanes(): Promise<string | undefined> {
    const { bind, advertise } = laneAddress(this.info.engine_url);
    // One bounded history of accepted signatures for every lane of this engine.
    const replays = new ReplayGuard();
    const codec = (): Codec =>
      new MessageCodec(this.#signer, this.uuid, "engine lane", "receiver", { replays });
    this.#lanes = new LaneServer(codec, this.encrypted, (msg, lane) => {
      // A client may hear of this engine (and send it work) before the controller's answer to its
      // registration arrives here: hold such messages until the engine knows its id. The engine's
      // own warm-up task runs at once.
      if (this.id < 0 && msg.header.session !== WARM_UP_SESSION) this.#early.push([msg, lane]);
      else this.#fromLane(msg, lane);
    });
    try {
      const port = await this.#lanes.listen(bind);
      await warmUpLane({ host: advertise, port }, this.#signer, this.encrypted);
      return `tcp://${advertise.includes(":") ? `[${advertise}]` : advertise}:${port}`;
    } catch (e) {
      process.stderr.write(
        `[tsparallel engine] no lane (clients go through the controller): ${(e as Error).message}\n`,
      );
      this.#lanes = undefined;
      return undefined;
    }
  }

  /** Starts the signal thread; returns its routing id once it is connected (or after 3 s). */
  async #startSignalThread(): Promise<string> {
    const data: SignalThreadData = {
      url: this.info.heartbeat_url,
      key: this.info.key,
      encrypted: this.encrypted,
      identity: `signals-${this.uuid}`,
      ...(controllerPidHere(this.info) === undefined
        ? {}
        : { controllerPidHere: controllerPidHere(this.info) }),
    };
    this.#signals = new Worker(new URL("./signal-worker.js", import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.#signals.unref();
    const worker = this.#signals;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      worker.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return data.identity;
  }

  /** Stops the heart, closes the socket and exits the process. */
  exit(code: number, why: string): void {
    if (why && code !== 0) process.stderr.write(`[tsparallel engine ${this.id}] exiting: ${why}\n`);
    if (this.#exiting) return;
    this.#exiting = true;
    // The controller hears at once (not after its heartbeat limit), and fails what it sent here.
    if (this.id >= 0 && this.#linksDown.size === 0)
      void this.#sock.send("unregistration_request", { reason: why || `exit code ${code}`, code });
    this.#status.stop();
    this.#spans.stop();
    this.#collector.stop();
    // The signal thread closes its own socket and ends; exiting under a live zeromq socket in a
    // worker aborts, as it does under a running proxy.
    const signals = this.#signals;
    const signalsDone = signals
      ? new Promise<void>((resolve) => {
          signals.once("exit", () => resolve());
          signals.postMessage("stop");
          setTimeout(() => void signals.terminate().finally(resolve), 1000).unref();
        })
      : Promise.resolve();
    this.runner.flushRecords();
    this.store?.close();
    this.#cores?.close();
    clearInterval(this.#sweep);
    this.#lanes?.close();
    void Promise.all([signalsDone, this.#heart?.stop()])
      .then(() => this.#sock.close())
      .finally(() => process.exit(code));
  }
}
