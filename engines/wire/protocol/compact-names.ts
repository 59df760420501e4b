/**
 * Names known by number in a long-lived table, renumbered in order of first use for one message:
 * a task-stream message lists only the function names it mentions, indexed from 0.
 */
export class CompactNames {
  /** The names mentioned so far, by their number in this message. */
  readonly names: string[] = [];
  readonly #local = new Map<number, number>();

  constructor(private readonly table: readonly string[]) {}

  /** This message's number for the table's name `id`. */
  index(id: number): number {
    let i = this.#local.get(id);
    if (i === undefined) {
      i = this.names.push(this.table[id]!) - 1;
      this.#local.set(id, i);
    }
    return i;
  }
}
