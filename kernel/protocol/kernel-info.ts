import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION } from "../../engines/wire/protocol/frames.js";
import type { KernelInfoReply } from "./messages.js";

/** tsparallel's own package.json, found by walking up from this file (works from src and dist). */
export function ownPackage(): { version: string; path: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    try {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tsparallel") return { version: pkg.version ?? "0.0.0", path: candidate };
    } catch {
      // no package.json here: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) return { version: "0.0.0", path: "" };
    dir = up;
  }
}

/** The typescript package's version, without loading the compiler (that takes a while). */
function typescriptVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require("typescript/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The kernel_info_reply content, computed once. */
export function kernelInfo(): KernelInfoReply {
  const own = ownPackage();
  const ts = typescriptVersion();
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "tsparallel",
    implementation_version: own.version,
    language_info: {
      name: "typescript",
      version: ts,
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: { name: "javascript", typescript: true },
      pygments_lexer: "typescript",
      nbconvert_exporter: "script",
    },
    banner: `tsparallel ${own.version}: TypeScript ${ts} on Node.js ${process.version}, with parallel engines (%px)`,
    help_links: [
      { text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/intro.html" },
      { text: "Node.js API", url: `https://nodejs.org/docs/${process.version}/api/` },
    ],
    debugger: false,
  };
}
