/** A cell larger than the compiler accepts; the message says what to do instead. */
export class CellTooLargeError extends Error {
  readonly code = "ERR_CELL_TOO_LARGE";
  constructor(length: number, limit: number) {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    super(
      `This cell is ${mb(length)}; cells are limited to ${mb(limit)}. ` +
        "Put large data in a file and read it from the cell (e.g. with fs.readFileSync or an import of a JSON file).",
    );
    this.name = "CellTooLargeError";
  }
}

/** A `declare`/`registerModule` call whose arguments cannot be used. */
export class DeclarationError extends Error {
  readonly code = "ERR_BAD_DECLARATION";
  constructor(message: string) {
    super(message);
    this.name = "DeclarationError";
  }
}
