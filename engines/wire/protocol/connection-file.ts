import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";

/** Everything a client or engine needs to join a cluster. Written with mode 0600: it holds the key. */
export interface ConnectionInfo {
  /** Cluster name (file stem). */
  name: string;
  key: string;
  signature_scheme: "hmac-sha256";
  /** Where clients connect (controller's client ROUTER). */
  client_url: string;
  /** Where engines connect (controller's engine ROUTER). */
  engine_url: string;
  /** Where engines' hearts send their echoes (controller's heart ROUTER). */
  heartbeat_url: string;
  /** Where engines' hearts hear the pings (controller's PUB); absent in files of older versions. */
  ping_url?: string;
  controller_pid: number;
  controller_host: string;
  /**
   * The controller's host as `hostIdentity()` tells it (boot id, pid namespace, user): a process
   * with the same identity can tell from `controller_pid` whether the controller still exists.
   */
  controller_host_id?: string;
  created: string;
  scheme: string;
  /**
   * The largest frame the controller takes from a client or engine, in bytes: they refuse to send
   * more (absent in files of older versions: no limit known).
   */
  max_message_bytes?: number;
  /**
   * True when the cluster's traffic is encrypted: CurveZMQ to the controller, TLS 1.3 on lanes,
   * keys derived from `key` (wire/transport/controller-auth.ts). Absent: in the clear.
   */
  encrypted?: boolean;
}

/** Why a connection file could not be used. */
export type ConnectionFileErrorCode =
  | "CONNECTION_FILE_MISSING"
  | "CONNECTION_FILE_UNREADABLE"
  | "CONNECTION_FILE_INVALID"
  /** The clusters folder belongs to another user, who could read the keys written there. */
  | "CONNECTION_FILE_UNSAFE";

/** A missing, unreadable or malformed connection file; the message says what to do. */
export class ConnectionFileError extends Error {
  override readonly name = "ConnectionFileError";
  constructor(
    readonly code: ConnectionFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The folder holding cluster files: $TSPARALLEL_DIR/clusters or ~/.tsparallel/clusters. */
export function clustersDir(): string {
  return join(process.env.TSPARALLEL_DIR ?? join(homedir(), ".tsparallel"), "clusters");
}

/** The default connection-file path of cluster `name`. */
export function connectionFilePath(name: string): string {
  if (!/^[\w.-]+$/.test(name))
    throw new TypeError(`cluster name "${name}" may only use letters, digits, ".", "_" and "-"`);
  return join(clustersDir(), `${name}.json`);
}

/**
 * Writes `info` atomically with mode 0600. Folders it creates are 0700, and so is the clusters
 * folder even when it already existed with a looser mode (it holds every cluster's key); a folder
 * the user chose for a file of their own keeps its mode.
 */
export function writeConnectionFile(path: string, info: ConnectionInfo): void {
  privateFolder(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  // Created afresh ("wx"): a file or symlink someone left at that name is not written through.
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Makes `dir` (see {@link writeConnectionFile}); refuses a clusters folder another user owns. */
function privateFolder(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created === undefined && resolve(dir) !== resolve(clustersDir())) return;
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new ConnectionFileError(
      "CONNECTION_FILE_UNSAFE",
      dir,
      `the clusters folder ${dir} is owned by user ${st.uid}, not by you (${uid}), who could read the cluster keys written there: remove it, or set TSPARALLEL_DIR to a folder of your own`,
    );
  if (st.mode & 0o077) chmodSync(dir, 0o700);
}

/** Reads and checks a connection file. Throws {@link ConnectionFileError} with a hint. */
export function readConnectionFile(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") {
      throw new ConnectionFileError(
        "CONNECTION_FILE_MISSING",
        path,
        `no connection file at ${path}: start a cluster first (Cluster.start() or \`tsparallel cluster start\`), or pass the path of a running cluster's file (\`tsparallel cluster list\`)`,
      );
    }
    throw new ConnectionFileError(
      "CONNECTION_FILE_UNREADABLE",
      path,
      `cannot read connection file ${path}: ${err.message}`,
    );
  }
  let info: Partial<ConnectionInfo>;
  try {
    info = JSON.parse(text) as Partial<ConnectionInfo>;
  } catch (e) {
    throw new ConnectionFileError(
      "CONNECTION_FILE_INVALID",
      path,
      `connection file ${path} is not JSON (${(e as Error).message}); delete it and restart the cluster`,
    );
  }
  for (const k of ["key", "client_url", "engine_url", "heartbeat_url"] as const) {
    if (typeof info[k] !== "string") {
      throw new ConnectionFileError(
        "CONNECTION_FILE_INVALID",
        path,
        `connection file ${path} has no "${k}"; delete it and restart the cluster`,
      );
    }
  }
  return info as ConnectionInfo;
}

/** Removes a connection file if present. */
export function removeConnectionFile(path: string): void {
  rmSync(path, { force: true });
}

/** Lists the connection files in {@link clustersDir}. */
export function listConnectionFiles(): string[] {
  try {
    return readdirSync(clustersDir())
      .filter((f) => f.endsWith(".json"))
      .map((f) => join(clustersDir(), f));
  } catch {
    return [];
  }
}
