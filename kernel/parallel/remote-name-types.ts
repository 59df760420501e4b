/**
 * The types of the names a notebook has sent to its engines (push, set, scatter), written as the
 * augmentation of tsparallel's `RemoteNames` that types `pull`, `get` and `gather` of those names
 * in kernel cells.
 */
export class RemoteNameTypes {
  readonly #types = new Map<string, string>();

  /**
   * Records the type of a name as sent last; true when that changed the declaration. A type the
   * kernel could not name (`any`) leaves the name out, so reading it gives `unknown`, not `any`.
   */
  set(name: string, typeText: string): boolean {
    const type = typeText.replace(/\bany\b/g, "unknown");
    const known = type !== "unknown";
    if (known ? this.#types.get(name) === type : !this.#types.has(name)) return false;
    if (known) this.#types.set(name, type);
    else this.#types.delete(name);
    return true;
  }

  /** The whole augmentation, one member per name (empty when no name has a type). */
  declaration(): string {
    if (this.#types.size === 0) return "";
    const members = [...this.#types].map(([name, type]) => `    ${JSON.stringify(name)}: ${type};`);
    return `declare module "tsparallel" {\n  interface RemoteNames {\n${members.join("\n")}\n  }\n}\n`;
  }
}
