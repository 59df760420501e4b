export * from "./errors.js";
export * from "./frames.js";
export * from "./send-queue.js";
export * from "./signing.js";
