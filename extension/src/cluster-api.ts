import { URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import type {
  ClusterList,
  ClusterSnapshot,
  TaskStreamSnapshot,
} from "../../kernel/lab/cluster-service/cluster-snapshot";

export type {
  ClusterEvent,
  ClusterList,
  ClusterSnapshot,
  ClusterState,
  EngineSnapshot,
  TaskStreamSnapshot,
} from "../../kernel/lab/cluster-service/cluster-snapshot";

/** A request to the cluster API that failed; the message says what went wrong and what to do. */
export class ClusterApiError extends Error {
  override readonly name = "ClusterApiError";
  constructor(
    message: string,
    /** The HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** What the panel needs from the server: the REST API of the tsparallel_lab server extension. */
export interface ClusterApi {
  list(): Promise<ClusterList>;
  start(name: string, n: number): Promise<ClusterSnapshot>;
  scale(name: string, n: number): Promise<ClusterSnapshot>;
  stop(name: string): Promise<{ name: string; done: string }>;
  restartEngine(name: string, engine: number): Promise<ClusterSnapshot>;
  signal(name: string, engines: number[] | "all", signal: string): Promise<ClusterSnapshot>;
  /** The last minute of cluster `name`'s task stream, merged to a pixel of a view `width` px wide. */
  stream(name: string, width: number): Promise<TaskStreamSnapshot>;
}

const MISSING_EXTENSION =
  "This Jupyter server does not have the tsparallel server extension, so the panel cannot see clusters. " +
  "Start JupyterLab with `npx tsparallel lab`, which enables it.";

/** {@link ClusterApi} over HTTP, under `<base url>/tsparallel/clusters`. */
export class RestClusterApi implements ClusterApi {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  list(): Promise<ClusterList> {
    return this.#request<ClusterList>("GET", "", undefined, true);
  }

  start(name: string, n: number): Promise<ClusterSnapshot> {
    return this.#request("POST", "", { name, n });
  }

  scale(name: string, n: number): Promise<ClusterSnapshot> {
    return this.#request("PATCH", encodeURIComponent(name), { n });
  }

  stop(name: string): Promise<{ name: string; done: string }> {
    return this.#request("DELETE", encodeURIComponent(name));
  }

  restartEngine(name: string, engine: number): Promise<ClusterSnapshot> {
    return this.#request("POST", `${encodeURIComponent(name)}/engines/${engine}/restart`);
  }

  signal(name: string, engines: number[] | "all", signal: string): Promise<ClusterSnapshot> {
    return this.#request("POST", `${encodeURIComponent(name)}/signal`, { engines, signal });
  }

  stream(name: string, width: number): Promise<TaskStreamSnapshot> {
    return this.#request("GET", `${encodeURIComponent(name)}/stream?width=${Math.round(width)}`);
  }

  async #request<T>(method: string, path: string, body?: unknown, isListing = false): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, "tsparallel", "clusters", path);
    const init: RequestInit = { method };
    if (body !== undefined) init.body = JSON.stringify(body);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (e) {
      throw new ClusterApiError(`Cannot reach the Jupyter server: ${(e as Error).message}`, 0);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = undefined;
    }
    if (response.ok && data !== undefined) return data as T;
    const message =
      typeof data === "object" && data !== null && typeof (data as { message?: unknown }).message === "string"
        ? (data as { message: string }).message
        : `${response.status} ${response.statusText}`;
    // The listing is always there when the server extension is: its 404 means the extension is not.
    if (isListing && response.status === 404) throw new ClusterApiError(MISSING_EXTENSION, 404);
    throw new ClusterApiError(message, response.status);
  }
}
