import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineRegistry } from "../../../engines/controller/engine-registry.js";

const request = (uuid: string, id?: number) => ({
  uuid,
  pid: 1,
  hostname: "h",
  heart: `heart-${uuid}`,
  ...(id !== undefined ? { id } : {}),
});

test("engines get the ids they ask for (MPI ranks) unless ever given; ids are never reused", () => {
  const reg = new EngineRegistry();
  // Ranks register in any order.
  assert.equal(reg.register(request("r2", 2)).info.id, 2);
  assert.equal(reg.register(request("r0", 0)).info.id, 0);
  assert.equal(reg.register(request("plain")).info.id, 1, "an engine asking nothing gets the lowest free id");
  assert.equal(reg.register(request("r1", 1)).info.id, 3, "id 1 was taken: the next free one");
  assert.equal(reg.register(request("r0", 0)).info.id, 0, "registering twice changes nothing");
  assert.deepEqual(
    reg.alive().map((r) => r.info.id),
    [0, 1, 2, 3],
    "kept in id order",
  );
  reg.remove(2);
  assert.equal(reg.register(request("again", 2)).info.id, 4, "a dead engine's id is not given again");
  assert.equal(reg.register(request("bad", -1)).info.id, 5);
});
