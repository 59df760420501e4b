import { readFile } from "node:fs/promises";

/** The contents of a Jupyter connection file (the fields the kernel uses). */
export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

/** The five kernel channels and the connection-file field that holds each port. */
export const CHANNEL_PORTS = {
  shell: "shell_port",
  iopub: "iopub_port",
  stdin: "stdin_port",
  control: "control_port",
  hb: "hb_port",
} as const;

export type Channel = keyof typeof CHANNEL_PORTS;

/** A connection file that cannot be used; the message says which field is wrong. */
export class ConnectionFileError extends Error {
  override readonly name = "ConnectionFileError";
  readonly code = "BAD_CONNECTION_FILE";
}

/** Checks parsed JSON and fills Jupyter's defaults (tcp, 127.0.0.1, hmac-sha256). */
export function parseConnectionInfo(raw: unknown, where = "connection file"): ConnectionInfo {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConnectionFileError(`${where}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const transport = r.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new ConnectionFileError(
      `${where}: transport must be "tcp" or "ipc", got ${JSON.stringify(transport)}`,
    );
  }
  const ip = r.ip ?? "127.0.0.1";
  if (typeof ip !== "string" || ip === "") throw new ConnectionFileError(`${where}: "ip" must be a string`);
  const ports = {} as Record<(typeof CHANNEL_PORTS)[Channel], number>;
  for (const field of Object.values(CHANNEL_PORTS)) {
    const v = r[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
      throw new ConnectionFileError(
        `${where}: "${field}" must be a port number (0-65535), got ${JSON.stringify(v)}`,
      );
    }
    ports[field] = v;
  }
  const key = r.key ?? "";
  if (typeof key !== "string") throw new ConnectionFileError(`${where}: "key" must be a string`);
  const scheme = r.signature_scheme ?? "hmac-sha256";
  if (scheme !== "hmac-sha256") {
    throw new ConnectionFileError(
      `${where}: signature_scheme ${JSON.stringify(scheme)} is not supported; use "hmac-sha256"`,
    );
  }
  return {
    transport,
    ip,
    ...ports,
    key,
    signature_scheme: scheme,
    ...(typeof r.kernel_name === "string" ? { kernel_name: r.kernel_name } : {}),
  };
}

/** Reads and checks a connection file. */
export async function readConnectionFile(path: string): Promise<ConnectionInfo> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConnectionFileError(`cannot read connection file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConnectionFileError(`connection file ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseConnectionInfo(raw, `connection file ${path}`);
}

/** The ZeroMQ address a channel binds to: tcp://ip:port, or ipc://ip-port as jupyter_client names it. */
export function channelAddress(info: ConnectionInfo, channel: Channel): string {
  const port = info[CHANNEL_PORTS[channel]];
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
