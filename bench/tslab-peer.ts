import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The tslab version we compare against (the last release). */
export const TSLAB_VERSION = "1.0.22";

/**
 * Installs tslab from npm into `peersDir/tslab` (once) and writes its kernelspec, named
 * `tslab`, under `jupyterPath/kernels`. Returns the kernel name.
 */
export function installTslab(peersDir: string, jupyterPath: string): string {
  const prefix = join(peersDir, "tslab");
  const bin = join(prefix, "node_modules", ".bin", "tslab");
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    writeFileSync(join(prefix, "package.json"), JSON.stringify({ name: "tslab-peer", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", `tslab@${TSLAB_VERSION}`], {
      cwd: prefix,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const dir = join(jupyterPath, "kernels", "tslab");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "kernel.json"),
    JSON.stringify({
      argv: [
        process.execPath,
        join(prefix, "node_modules", "tslab", "bin", "tslab"),
        "kernel",
        "--config-path",
        "{connection_file}",
      ],
      display_name: "TypeScript (tslab)",
      language: "typescript",
    }),
  );
  return "tslab";
}
