import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { needs } from "../../helpers/system-needs.js";
import { type DaemonProcess, runCommand, startDaemon, systemCommand, waitFor } from "./daemon-process.js";

/** A real OpenSSH server a test started, with a client config whose key it accepts. */
export interface TestSshd extends DaemonProcess {
  address: string;
  port: number;
  /**
   * The sshd process itself, as this namespace numbers it: `pid`, or the child of the `unshare`
   * that made its pid namespace.
   */
  sshdPid: number;
  /** ssh options that reach it: `["-F", <client config>]`. */
  sshArgs: string[];
}

/** What is missing for an sshd test, or undefined when sshd and ssh-keygen are installed. */
export function sshdMissing(): string | undefined {
  for (const c of ["sshd", "ssh", "ssh-keygen"])
    if (!systemCommand(c)) return needs("sshd", `${c} is not installed`);
  // sshd refuses to start without its privilege separation folder, which only root can create.
  if (process.getuid?.() !== 0 && !existsSync("/run/sshd"))
    return needs("root", "sshd needs /run/sshd, which only root can create");
  return undefined;
}

/**
 * Starts `sshd -D` with its own config in `dir`: key authentication only, a host key and a client
 * key generated here (once per dir), listening on `address:port`. With `netns`, it runs in that
 * network namespace (and `hostname`, if given, in a UTS namespace of its own, so sessions there
 * see another host name). With `ownPids` too, it runs as the first process of a pid namespace of
 * its own with its own /proc, as on another machine: its sessions' processes cannot see this
 * host's, and the shared-memory store takes them for another host (store/host-identity.ts).
 * Stopping it then ends every process in that namespace.
 */
export async function startSshd(
  dir: string,
  opts: { address: string; port: number; netns?: string; hostname?: string; ownPids?: boolean },
): Promise<TestSshd> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keygen = systemCommand("ssh-keygen")!;
  for (const key of ["host_ed25519", "id_ed25519"])
    if (!existsSync(join(dir, key)))
      runCommand(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, key)]);
  runCommand("cp", [join(dir, "id_ed25519.pub"), join(dir, "authorized_keys")]);
  const tag = `${opts.address}-${opts.port}`;
  const config = join(dir, `sshd-${tag}.conf`);
  writeFileSync(
    config,
    [
      `Port ${opts.port}`,
      `ListenAddress ${opts.address}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, `sshd-${tag}.pid`)}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      // The keys live in a temp folder, whose parents StrictModes would reject.
      "StrictModes no",
      "UsePAM no",
      "",
    ].join("\n"),
  );
  const client = join(dir, "ssh_config");
  writeFileSync(
    client,
    [
      "Host *",
      `  User ${userInfo().username}`,
      `  IdentityFile ${join(dir, "id_ed25519")}`,
      "  IdentitiesOnly yes",
      "  StrictHostKeyChecking no",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "  LogLevel ERROR",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  // Privilege separation needs this folder; systemd would create it.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = systemCommand("sshd")!;
  runCommand(sshd, ["-t", "-f", config]);
  const argv = [sshd, "-D", "-e", "-f", config];
  let command = argv;
  if (opts.netns) {
    const unshare = [
      ...(opts.hostname ? ["--uts"] : []),
      // --kill-child: should unshare die, its child (sshd) goes too, and with it the namespace.
      ...(opts.ownPids ? ["--pid", "--mount-proc", "--kill-child"] : []),
    ];
    const inner = unshare.length
      ? [
          systemCommand("unshare")!,
          ...unshare,
          "sh",
          "-c",
          `${opts.hostname ? `hostname ${opts.hostname} && ` : ""}exec "$@"`,
          "sh",
          ...argv,
        ]
      : argv;
    command = [systemCommand("nsenter")!, `--net=/run/netns/${opts.netns}`, ...inner];
  }
  const daemon = startDaemon(`sshd ${tag}`, command[0]!, command.slice(1), join(dir, `sshd-${tag}.log`));
  await waitFor(`sshd on ${opts.address}:${opts.port}`, () => canConnect(opts.address, opts.port), 10_000);
  const sshdPid = opts.ownPids ? childOf(daemon.pid) : daemon.pid;
  const stop = async (graceMs?: number) => {
    // unshare blocks SIGTERM while it waits for its child: sshd is the one to stop. As the first
    // process of its pid namespace it takes only signals it handles, which SIGTERM is.
    if (sshdPid !== daemon.pid) {
      try {
        process.kill(sshdPid, "SIGTERM");
      } catch {
        // gone already
      }
    }
    await daemon.stop(graceMs);
  };
  return { ...daemon, stop, sshdPid, address: opts.address, port: opts.port, sshArgs: ["-F", client] };
}

/** The one child of process `pid`. */
function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
  if (children.length !== 1 || !children[0])
    throw new Error(`process ${pid} has no single child: ${children}`);
  return Number(children[0]);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
