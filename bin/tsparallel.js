#!/usr/bin/env node
// The `tsparallel` command: a thin launcher for the compiled CLI (run `npm run build` first).
import { main } from "../dist/kernel/cli.js";

/**
 * A kernel ends by letting its event loop run dry (with a deadline) rather than by process.exit():
 * exiting while ZeroMQ was still tearing down its sockets corrupted the heap (SIGABRT) in about one
 * shutdown in ten.
 */
const NATURAL_EXIT = process.argv[2] === "kernel";
const EXIT_DEADLINE_MS = 3000;

main(process.argv.slice(2)).then(
  (code) => {
    if (!NATURAL_EXIT) process.exit(code);
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_DEADLINE_MS).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
