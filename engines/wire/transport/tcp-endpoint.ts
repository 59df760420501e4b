/** TCP endpoints as the cluster writes them (`tcp://host:port`, IPv6 hosts in brackets). */

/** Host and port of a `tcp://host:port` URL; undefined when it is not one. */
export function tcpEndpoint(url: string): { host: string; port: number } | undefined {
  const m = /^tcp:\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(url);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** True for a loopback host: traffic to it never leaves this host. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.startsWith("127.") || host === "::1" || host === "[::1]";
}
