import type { NDArray } from "../../ndarray/ndarray.js";
import type { ObjectStore } from "../store/object-store.js";
import { STORE_THRESHOLD } from "../store/object-store.js";
import type { StoreMapper } from "../store/store-mapper.js";
import { isNDArray } from "../wire/values/serialize.js";

type Flat =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | Int8Array;

/**
 * Joins a gather's parts that engines on this host placed in their stores (so each arrived here as
 * a mapping of an engine's block) into one array in this client's own store, then unmaps the parts
 * at once, so their engines get those blocks back for their next replies instead of waiting for
 * this process's garbage collector. The join is the one copy the gather makes.
 *
 * Typed arrays of one kind, and C-contiguous NDArrays of one dtype whose shapes differ only along
 * the first axis, are joined; anything else (or a store without room) gives undefined, and the
 * parts are joined the ordinary way.
 */
export async function joinStoredParts(
  parts: readonly unknown[],
  store: ObjectStore,
  mapper: StoreMapper,
  ndarrays: () => Promise<typeof import("../../ndarray/memory-layout.js")>,
): Promise<unknown> {
  const live = parts.filter((p) => p !== undefined);
  if (live.length < 2) return undefined;
  const datas: Flat[] = [];
  for (const p of live) {
    const data = (isNDArray(p) ? (p as NDArray).data : p) as Flat;
    if (!ArrayBuffer.isView(data) || !mapper.maps(data.buffer)) return undefined;
    datas.push(data);
  }
  const first = live[0]!;
  const nd = isNDArray(first) ? (live as NDArray[]) : undefined;
  if (nd) {
    const rest = nd[0]!.shape.slice(1).join(",");
    const ok = nd.every(
      (a) =>
        a.dtype === nd[0]!.dtype &&
        a.flags.c_contiguous &&
        a.ndim >= 1 &&
        a.shape.slice(1).join(",") === rest,
    );
    if (!ok) return undefined;
  } else if (!datas.every((d) => d.constructor === datas[0]!.constructor)) return undefined;
  // The bytes of each part, in order (a contiguous NDArray's elements from its first).
  const pieces = datas.map((d, i) => {
    const a = nd?.[i];
    const start = a ? a.offset : 0;
    const n = a ? a.size : d.length;
    return new Uint8Array(d.buffer, d.byteOffset + start * d.BYTES_PER_ELEMENT, n * d.BYTES_PER_ELEMENT);
  });
  const total = pieces.reduce((n, p) => n + p.byteLength, 0);
  if (total < STORE_THRESHOLD) return undefined;
  const block = await store.allocateWarm(total);
  if (!block) return undefined;
  const target = store.bytesOf(block);
  let at = 0;
  // With the store's threads: one core's copy leaves the memory bus half idle.
  for (const p of pieces) {
    store.copy(target.subarray(at, at + p.byteLength), p);
    at += p.byteLength;
  }
  const memory = store.ownMapping(block, false);
  for (const d of datas) mapper.unmapNow(d.buffer as ArrayBuffer);
  const Ctor = datas[0]!.constructor as new (b: ArrayBuffer, o: number, n: number) => Flat;
  const flat = new Ctor(memory, 0, total / datas[0]!.BYTES_PER_ELEMENT);
  if (!nd) return flat;
  const rows = nd.reduce((n, a) => n + a.shape[0]!, 0);
  const shape = [rows, ...nd[0]!.shape.slice(1)];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((n, s) => n * s, 1));
  return (await ndarrays()).ndarrayFromLayout(flat as never, {
    dtype: nd[0]!.dtype,
    shape,
    strides,
    offset: 0,
  });
}
