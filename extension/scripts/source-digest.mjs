// One SHA-256 over everything the prebuilt extension is built from: the build script, the
// extension's sources, styles, package files and the cluster API types it shares with the service.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));

function files(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    })
    .sort();
}

/** The digest of the extension's sources, as hex. */
export function sourceDigest() {
  const inputs = [
    ...files(join(here, "src")),
    ...files(join(here, "style")),
    join(here, "scripts", "build.mjs"),
    join(here, "package.json"),
    join(here, "package-lock.json"),
    join(here, "tsconfig.json"),
    join(here, "..", "kernel", "lab", "cluster-service", "cluster-snapshot.d.ts"),
  ];
  const hash = createHash("sha256");
  for (const file of inputs) {
    // Line endings are normalised so a checkout with CRLF gives the same digest.
    hash.update(`${relative(here, file).replaceAll("\\", "/")}\0`);
    hash.update(readFileSync(file, "utf8").replaceAll("\r\n", "\n"));
    hash.update("\0");
  }
  return hash.digest("hex");
}
