import type { Magic } from "./magic.js";

/** The magics a kernel knows, by name. Line and cell forms of one name share an entry. */
export class MagicRegistry {
  readonly #magics = new Map<string, Magic>();

  register(magic: Magic): this {
    this.#magics.set(magic.name, magic);
    return this;
  }

  unregister(name: string): void {
    this.#magics.delete(name);
  }

  /** The magic for `%name` (line) or `%%name` (cell), if it exists in that form. */
  find(name: string, form: "line" | "cell"): Magic | undefined {
    const m = this.#magics.get(name);
    if (!m) return undefined;
    return m.kind === "both" || m.kind === form ? m : undefined;
  }

  has(name: string): boolean {
    return this.#magics.has(name);
  }

  /** All magics, sorted by name. */
  list(): Magic[] {
    return [...this.#magics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
