#!/usr/bin/env node
// The `tsparallel` command: a thin launcher for the compiled CLI (run `npm run build` first).
import { main } from "../dist/kernel/cli.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
