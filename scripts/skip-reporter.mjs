// A node:test reporter that writes one JSON line per skipped test ({ name, file, reason }), for
// scripts/run-tests.mjs to summarise once the run is over.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:skip" && !(event.type === "test:pass" && event.data.skip !== undefined))
      continue;
    const { name, file, skip } = event.data;
    yield `${JSON.stringify({ name, file, reason: typeof skip === "string" ? skip : "" })}\n`;
  }
}
