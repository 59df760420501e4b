import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { posix } from "node:path";
import process from "node:process";
import { findCommand } from "./find-command.js";
import { HUGEPAGE_TUNABLE } from "./huge-pages.js";
import {
  type EngineLocation,
  type Launcher,
  type LauncherAction,
  type LauncherContext,
  LauncherError,
} from "./launcher.js";
import { ENGINE_MAIN, ENGINE_THREADPOOL_SIZE } from "./local-launcher.js";
import { shellJoin, shellQuote } from "./shell-words.js";
import { formatSSHHost, parseSSHHost, placeEngines, type SSHHost, sshDestination } from "./ssh-host.js";

/** Options of the SSH launcher. */
export interface SSHLauncherOptions {
  /** Where engines run: `"node1"`, `"alice@node2:2222"`, `"node3=4"` (4 engines), or objects. */
  hosts: (string | SSHHost)[];
  /** The ssh client (default `ssh` on $PATH). */
  sshCommand?: string;
  /** Options for every ssh call, before the host: `["-F", "~/.ssh/cluster_config", "-i", key]`. */
  sshArgs?: string[];
  /** The node executable on the hosts (default: this one's path, i.e. the same install everywhere). */
  remoteNode?: string;
  /** The engine script on the hosts (default: this package's `dist/engines/engine/main.js` path). */
  remoteEngine?: string;
  /**
   * Folder on each host for the copy of the connection file and the engines' logs (default
   * `.tsparallel/remote`, relative to the remote home).
   */
  remoteDir?: string;
  /**
   * The connection file's path is on a filesystem the hosts share: engines read it there and
   * nothing is copied.
   */
  sharedConnectionFile?: boolean;
  /**
   * Environment variables for the remote engines (e.g. `TSPARALLEL_LANE_HOST`, `NODE_OPTIONS`).
   * They pass through the controller's command line, which other users can read: no secrets.
   */
  env?: Record<string, string>;
}

/** One engine started over ssh. */
interface RemoteEngine extends EngineLocation {
  session: Session;
  exited: boolean;
  released: boolean;
}

/** One ssh connection that started engines on a host and reports when they exit. */
interface Session {
  host: SSHHost;
  hostIndex: number;
  child: ChildProcess;
  /** The connection file as the engines there read it. */
  remoteFile: string;
  closed: Promise<void>;
  stderr: string;
}

/** How long one ssh call may take to start its engines. */
const START_TIMEOUT_MS = 30_000;
/** How long an ssh call that stops engines may take. */
const KILL_TIMEOUT_MS = 10_000;
const MARK = /^__tsparallel_(started|exited|error)=(.*)__$/;

/**
 * Starts engines on other hosts with the system `ssh` (key authentication, BatchMode: it never
 * prompts). One ssh call per host sends a small `sh` script on stdin that writes a copy of the
 * connection file (mode 0600; unless it is on a shared filesystem), starts the engines detached
 * from the terminal with their output in log files, prints their pids and stays connected,
 * printing each engine's exit status: the connection doubles as the launcher's view of its
 * engines. Engines are stopped with `ssh host kill`; an engine whose controller disappears exits
 * by itself a few seconds later, so a lost ssh connection leaves nothing behind.
 *
 * The hosts need `sh` and node and tsparallel at the same paths as here (a shared home or the
 * same image), or the paths given by `remoteNode` / `remoteEngine`.
 */
export class SSHLauncher implements Launcher {
  readonly kind = "ssh";
  readonly #hosts: SSHHost[];
  readonly #engines: RemoteEngine[] = [];
  readonly #sessions = new Set<Session>();

  constructor(
    private readonly ctx: LauncherContext,
    private readonly opts: SSHLauncherOptions,
  ) {
    if (!opts.hosts?.length)
      throw new LauncherError(
        'the ssh launcher needs hosts to start engines on: hosts: ["node1", "alice@node2:2222=4"] (CLI: --hosts node1,alice@node2:2222=4)',
      );
    this.#hosts = opts.hosts.map(parseSSHHost);
  }

  async start(n: number): Promise<void> {
    if (n === 0) return;
    const ssh = this.opts.sshCommand ?? "ssh";
    if (!findCommand(ssh))
      throw new LauncherError(
        `${ssh} was not found${ssh.includes("/") ? "" : " on PATH"}: the ssh launcher needs an OpenSSH client (Debian/Ubuntu: apt-get install openssh-client), or its path as sshCommand`,
      );
    const live = this.#hosts.map(
      (_, i) => this.#engines.filter((e) => e.session.hostIndex === i && !e.exited && !e.released).length,
    );
    const counts = new Map<number, number>();
    for (const i of placeEngines(this.#hosts, live, n)) counts.set(i, (counts.get(i) ?? 0) + 1);
    const content = this.opts.sharedConnectionFile ? "" : readFileSync(this.ctx.connectionFile, "utf8");
    const results = await Promise.allSettled([...counts].map(([i, k]) => this.#startOn(i, k, content)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length) {
      // Leave nothing half-started: the engines this call did start go too.
      const started = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
      for (const e of started) this.release(e);
      throw failed.length === 1
        ? failed[0]!.reason
        : new LauncherError(failed.map((f) => (f.reason as Error).message).join("\n\n"));
    }
    this.ctx.log(this.describe());
  }

  /** ssh's arguments up to and including the destination. */
  #sshArgs(host: SSHHost): string[] {
    return sshArgsFor(this.opts, host);
  }

  /** Starts `k` engines on host `i`; resolves with them once each has printed its pid. */
  #startOn(i: number, k: number, content: string): Promise<RemoteEngine[]> {
    const host = this.#hosts[i]!;
    const id = `${this.ctx.clusterName}-${randomBytes(4).toString("hex")}`;
    const dir = this.opts.remoteDir ?? ".tsparallel/remote";
    const remoteFile = this.opts.sharedConnectionFile
      ? this.ctx.connectionFile
      : posix.join(dir, `${id}.json`);
    const script = this.#script(k, dir, remoteFile, posix.join(dir, id), content);
    const child = spawn(this.opts.sshCommand ?? "ssh", [...this.#sshArgs(host), "sh -s"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const session: Session = {
      host,
      hostIndex: i,
      child,
      remoteFile,
      stderr: "",
      closed: new Promise((resolve) => child.once("close", () => resolve())),
    };
    this.#sessions.add(session);
    void session.closed.then(() => this.#sessions.delete(session));
    child.stdin!.on("error", () => {}); // ssh may be gone before it read the script; its exit says why
    child.stdin!.end(script);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      session.stderr = (session.stderr + d).slice(-8192);
    });
    const mine: RemoteEngine[] = [];
    return new Promise<RemoteEngine[]>((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill("SIGTERM");
        reject(new LauncherError(this.#failure(host, why, session.stderr)));
      };
      const timer = setTimeout(() => fail(`no answer within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      let pending = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (d: string) => {
        pending += d;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const m = MARK.exec(line.trim());
          if (!m) continue;
          if (m[1] === "error") fail(m[2]!);
          else if (m[1] === "started") {
            const at = m[2]!.indexOf("@");
            const engine: RemoteEngine = {
              pid: Number(m[2]!.slice(0, at)),
              hostname: m[2]!.slice(at + 1),
              session,
              exited: false,
              released: false,
            };
            mine.push(engine);
            this.#engines.push(engine);
            if (mine.length === k && !settled) {
              settled = true;
              clearTimeout(timer);
              resolve(mine);
            }
          } else this.#exited(session, m[2]!);
        }
      });
      child.once("error", (e) => fail(`could not run ssh: ${e.message}`));
      child.once("close", (code, signal) => {
        if (!settled) fail(`ssh ended (${signal ?? `exit code ${code}`}) before the engines started`);
        // The engines may outlive a dropped connection; the controller's heartbeats decide.
      });
    });
  }

  /** `<pid>:<status>` from the remote script: one engine has exited. */
  #exited(session: Session, what: string): void {
    const [pid, status] = what.split(":").map(Number) as [number, number];
    const engine = this.#engines.find((e) => e.session === session && e.pid === pid && !e.exited);
    if (!engine) return;
    engine.exited = true;
    this.#engines.splice(this.#engines.indexOf(engine), 1);
    // A shell reports death by signal N as status 128 + N.
    const signal =
      status > 128
        ? ((Object.entries(constants.signals).find(([, num]) => num === status - 128)?.[0] as
            | NodeJS.Signals
            | undefined) ?? null)
        : null;
    this.ctx.onExit(engine, signal ? null : status, signal);
  }

  #failure(host: SSHHost, why: string, stderr: string): string {
    const said = stderr
      .split("\n")
      .filter((l) => l.trim() && !/^Warning: Permanently added/.test(l))
      .slice(-12)
      .map((l) => `  ${l}`)
      .join("\n");
    const probe = shellJoin([this.opts.sshCommand ?? "ssh", ...this.#sshArgs(host), "true"]);
    return [
      `ssh could not start engines on ${formatSSHHost(host)}: ${why}`,
      ...(said ? [`ssh said:\n${said}`] : []),
      `Check that \`${probe}\` succeeds from this machine without a prompt (a key in ssh-agent or ~/.ssh and authorized on that host, its host key already known), and that node and tsparallel exist there at ${this.opts.remoteNode ?? process.execPath} and ${this.opts.remoteEngine ?? ENGINE_MAIN} (or set remoteNode / remoteEngine).`,
    ].join("\n");
  }

  /** The script the remote `sh` runs: copy the file, check the paths, start and watch `k` engines. */
  #script(k: number, dir: string, remoteFile: string, logStem: string, content: string): string {
    const q = shellQuote;
    const node = this.opts.remoteNode ?? process.execPath;
    const main = this.opts.remoteEngine ?? ENGINE_MAIN;
    // The closing quote ends the variable name before the marker's "__".
    const say = (what: string) => `echo "__tsparallel_error=${what}"__; exit 1`;
    return [
      "set -u",
      "umask 077",
      `node=${q(node)} main=${q(main)} file=${q(remoteFile)} dir=${q(dir)} host=$(hostname)`,
      `mkdir -p "$dir" || { ${say("cannot create $dir on $host")}; }`,
      ...(content
        ? [`cat > "$file" <<'TSPARALLEL_CONNECTION_FILE'`, content.trimEnd(), "TSPARALLEL_CONNECTION_FILE"]
        : [`[ -r "$file" ] || { ${say("the shared connection file $file is not readable on $host")}; }`]),
      `command -v "$node" >/dev/null 2>&1 || { ${say("no node at $node on $host: set remoteNode (--remote-node)")}; }`,
      `[ -r "$main" ] || { ${say("no engine script at $main on $host: install tsparallel there at the same path, or set remoteEngine (--remote-engine)")}; }`,
      `export UV_THREADPOOL_SIZE="\${UV_THREADPOOL_SIZE:-${ENGINE_THREADPOOL_SIZE}}"`,
      ...Object.entries(this.opts.env ?? {}).map(([key, v]) => `export ${key}=${q(v)}`),
      // Huge pages for large arrays, as local engines get (withHugePages), unless
      // TSPARALLEL_HUGEPAGES=0 here, in `env` or on the host, or the user chose a hugetlb value.
      ...(process.env.TSPARALLEL_HUGEPAGES === "0"
        ? []
        : [
            `[ "\${TSPARALLEL_HUGEPAGES:-}" = 0 ] || case ":\${GLIBC_TUNABLES:-}:" in *glibc.malloc.hugetlb*) ;; *) export GLIBC_TUNABLES="\${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}${HUGEPAGE_TUNABLE}" ;; esac`,
          ]),
      "i=0",
      `while [ "$i" -lt ${k} ]; do`,
      // A subshell per engine waits for it and reports its exit status on this connection.
      `  ( "$node" "$main" "$file" >>${q(logStem)}-"$i".log 2>&1 </dev/null & p=$!; echo "__tsparallel_started=$p@$host"__; wait "$p"; echo "__tsparallel_exited=$p:$?"__ ) &`,
      "  i=$((i + 1))",
      "done",
      "wait",
      ...(content ? ['rm -f "$file"'] : []),
      "",
    ].join("\n");
  }

  running(): number {
    return this.#engines.filter((e) => !e.released).length;
  }

  refusal(_action: LauncherAction): string | undefined {
    return undefined;
  }

  startedHere(_engine: EngineLocation): boolean {
    return false; // on other hosts: signalled through their signal threads, stopped over ssh
  }

  release(engine: EngineLocation): void {
    const e = this.#engines.find((x) => x.pid === engine.pid && x.hostname === engine.hostname);
    if (!e || e.released) return;
    e.released = true;
    void this.#remote(e.session.host, `kill -TERM ${e.pid} 2>/dev/null; true`);
  }

  /** Runs `command` on `host` over ssh; resolves with its exit code (logs failures, never throws). */
  #remote(host: SSHHost, command: string): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn(this.opts.sshCommand ?? "ssh", [...this.#sshArgs(host), command], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_TIMEOUT_MS);
      child.once("error", (e) => {
        clearTimeout(timer);
        this.ctx.log(`ssh ${formatSSHHost(host)}: ${e.message}`);
        resolve(null);
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        if (code !== 0)
          this.ctx.log(`ssh ${formatSSHHost(host)} "${command}": ${stderr.trim() || `exit code ${code}`}`);
        resolve(code);
      });
    });
  }

  /** Signals the engines still running on each host and removes the copied connection files. */
  #signalAll(signal: "TERM" | "KILL"): Promise<unknown> {
    const byHost = new Map<number, { host: SSHHost; pids: number[]; files: Set<string> }>();
    for (const e of this.#engines) {
      const h = byHost.get(e.session.hostIndex) ?? { host: e.session.host, pids: [], files: new Set() };
      h.pids.push(e.pid);
      if (!this.opts.sharedConnectionFile) h.files.add(e.session.remoteFile);
      byHost.set(e.session.hostIndex, h);
    }
    return Promise.all(
      [...byHost.values()].map((h) =>
        this.#remote(
          h.host,
          `kill -${signal} ${h.pids.join(" ")} 2>/dev/null; ${h.files.size ? `rm -f ${shellJoin([...h.files])}; ` : ""}true`,
        ),
      ),
    );
  }

  async stopAll(graceMs = 2000): Promise<void> {
    if (this.#engines.length === 0 && this.#sessions.size === 0) return;
    // Exited engines leave #engines when their exit status arrives.
    const waitExits = async (ms: number) => {
      const end = Date.now() + ms;
      while (this.#engines.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    };
    // The controller has asked the engines to exit: most are gone before a signal could arrive.
    await waitExits(Math.min(500, graceMs));
    if (this.#engines.length) {
      const term = this.#signalAll("TERM");
      await waitExits(graceMs);
      await term;
    }
    if (this.#engines.length) {
      await this.#signalAll("KILL");
      await waitExits(2000);
    }
    // A session ends by itself once its engines have (its script removes the copied file).
    await Promise.race([
      Promise.all([...this.#sessions].map((s) => s.closed)),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    for (const s of this.#sessions) s.child.kill("SIGTERM");
    this.#engines.length = 0;
  }

  describe(): string {
    const per = new Map<string, number>();
    for (const e of this.#engines) {
      if (e.released) continue;
      const where = `${e.hostname} (${formatSSHHost(e.session.host)})`;
      per.set(where, (per.get(where) ?? 0) + 1);
    }
    if (per.size === 0) return "ssh: no engines running";
    return `ssh: ${[...per].map(([where, k]) => `${k} on ${where}`).join(", ")}`;
  }
}

/** ssh's arguments for `host` up to and including the destination (used for every call). */
export function sshArgsFor(opts: Pick<SSHLauncherOptions, "sshArgs">, host: SSHHost): string[] {
  return [
    // First: ssh keeps the first value it sees for an option, and a prompt would hang a launcher.
    "-o",
    "BatchMode=yes",
    ...(opts.sshArgs ?? []),
    ...(host.port ? ["-p", String(host.port)] : []),
    "-o",
    "ConnectTimeout=10",
    "-T",
    sshDestination(host),
  ];
}
