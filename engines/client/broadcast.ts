import type { StoreBlock, StoreRef } from "../store/store-ref.js";
import type { EngineId } from "../wire/protocol/messages.js";
import { arrayBytes, encodeValueNow } from "../wire/values/serialize.js";
import type { TaskRouter } from "./task-router.js";
import { type Job, once } from "./view.js";

/**
 * Jobs that send one value to every target (push, set, apply's arguments), one per target, in
 * their order. The value is taken now and encoded once per way it travels (see
 * TaskRouter.fanOut):
 *
 * - engines of this client's host get its large arrays through the client's store, placed once;
 * - two or more engines of another host get it through one of them, sent the value once, which
 *   places it in its store for the others; each then gets the small frames that name the blocks
 *   (if the placement fails, a copy each, as below);
 * - every other engine gets a copy of the frames, encoded once.
 *
 * One target gets its own payload, which may use reused memory (`exclusive`).
 */
export function broadcastJobs(router: TaskRouter, value: unknown, name: string, targets: EngineId[]): Job[] {
  const direct = (target: EngineId) => ({ kind: "direct", target }) as const;
  if (targets.length === 1) {
    const t = targets[0]!;
    return [
      {
        route: direct(t),
        engineId: t,
        buffers: (into) => encodeValueNow(value, { name, ...into }),
        exclusive: true,
      },
    ];
  }
  const plan = router.fanOut(targets, arrayBytes(value));
  const jobs = new Map<EngineId, Job>();
  if (plan.local.length) {
    const placed: StoreRef[] = [];
    const store = router.placer(direct(plan.local[0]!), plan.local);
    const buffers = once(() => encodeValueNow(value, { name, store, placed }));
    for (const t of plan.local) jobs.set(t, { route: direct(t), engineId: t, buffers, placed });
  }
  const frames = once(() => encodeValueNow(value, { name }));
  for (const t of plan.copies) jobs.set(t, { route: direct(t), engineId: t, buffers: frames });
  for (const group of plan.hosts) {
    const placed: StoreBlock[] = [];
    // Started when the first of the group's jobs is encoded, at the call: the value is taken then.
    const buffers = once(async () => {
      const onHost = await router.placeOnHost(group, await frames());
      if (!onHost) return frames();
      placed.push(...onHost.blocks);
      return onHost.frames;
    });
    for (const t of group.targets) jobs.set(t, { route: direct(t), engineId: t, buffers, placed });
  }
  return targets.map((t) => jobs.get(t)!);
}
