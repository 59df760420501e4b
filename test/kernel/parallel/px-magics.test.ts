import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { WireMessage } from "../../../engines/wire/protocol/frames.js";
import { systemCommand } from "../../engines/launchers/daemon-process.js";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";
import { needs } from "../../helpers/system-needs.js";

type C = Record<string, unknown>;
const content = (m: { content: unknown }) => m.content as C;

/**
 * The cell's outputs as text, in order: stream text split into lines (the kernel may coalesce
 * consecutive writes into one message), displays by their text/plain.
 */
function texts(outputs: WireMessage[]): string[] {
  const out: string[] = [];
  for (const m of outputs) {
    const c = content(m);
    switch (m.header.msg_type) {
      case "stream":
        for (const line of String(c.text).split(/(?<=\n)/)) out.push(`${c.name}> ${line}`);
        break;
      case "display_data":
      case "update_display_data":
      case "execute_result":
        out.push(`${m.header.msg_type}> ${(c.data as C)["text/plain"]}`);
        break;
      case "error":
        out.push(`error> ${c.ename}: ${c.evalue}`);
        break;
    }
  }
  return out;
}

describe("%px, %%px and %cluster through the kernel's real messages", () => {
  let k: StartedKernel;
  const run = async (code: string, timeoutMs = 30_000) => {
    const r = await k.client.execute(code, {}, timeoutMs);
    return {
      status: content(r.reply).status as string,
      reply: content(r.reply),
      out: texts(r.outputs),
      raw: r.outputs,
    };
  };
  before(async () => {
    k = await startKernel({ launcher: "cli" });
  });
  after(async () => {
    await run("%cluster stop").catch(() => {});
    await k?.stop();
  });

  test("%px with no cluster says how to start one", async () => {
    const r = await run("%px 1 + 1");
    assert.equal(r.status, "error");
    assert.match(String(r.reply.evalue), /%cluster start -n 2/);
  });

  test("%cluster start brings up engines that %px then uses", async () => {
    const both = await run("%cluster start --encrypt --no-encrypt");
    assert.equal(both.status, "error");
    assert.match(String(both.reply.evalue), /give --encrypt or --no-encrypt, not both/);
    const r = await run("%cluster start -n 2");
    assert.equal(r.status, "ok", JSON.stringify(r.reply));
    assert.match(r.out.join(""), /^stdout> Started a local cluster with 2 engines in /);
    const again = await run("%cluster start -n 2");
    assert.equal(again.status, "error");
    assert.match(String(again.reply.evalue), /already running/);
  });

  test("declarations persist on the engines and results come back as Out[engine:count]", async () => {
    assert.equal((await run("%px const base: number = 20")).status, "ok");
    const r = await run("%px base + 1");
    assert.equal(r.status, "ok");
    assert.equal(r.out.length, 2);
    assert.match(r.out[0]!, /^display_data> Out\[0:\d+\]: 21$/);
    assert.match(r.out[1]!, /^display_data> Out\[1:\d+\]: 21$/);
  });

  test("%px code is type-checked against the engines' declarations, once, with the cell's line", async () => {
    const r = await run("%%px\nconst ok = 1;\nconst s: string = base;");
    assert.equal(r.status, "error");
    assert.equal(r.reply.ename, "CompileError");
    assert.deepEqual(
      r.raw.filter((m) => m.header.msg_type === "error").length,
      1,
      "one error, not one per engine",
    );
    assert.match((r.reply.traceback as string[])[0]!, /^%px cell:2:7 - error TS2322/);
  });

  test("stdout, stderr and rich output carry ipyparallel's [stdout:N], [stderr:N] and [output:N]", async () => {
    const r = await run(
      '%%px --no-stream\nconsole.log("out", base); console.error("err"); display.html("<i>h</i>")',
    );
    assert.equal(r.status, "ok", JSON.stringify(r.reply));
    assert.deepEqual(r.out.slice(0, 4), [
      "stdout> [stdout:0] out 20\n",
      "stdout> [stdout:1] out 20\n",
      "stderr> [stderr:0] err\n",
      "stderr> [stderr:1] err\n",
    ]);
    assert.deepEqual(r.out.slice(4), [
      "stdout> [output:0]\n",
      "display_data> <HTML>",
      "stdout> [output:1]\n",
      "display_data> <HTML>",
    ]);
    const html = r.raw.find(
      (m) => m.header.msg_type === "display_data" && (content(m).data as C)["text/html"],
    );
    assert.equal((content(html!).data as C)["text/html"], "<i>h</i>");
  });

  test("-t picks engines by id, list and slice; a bad target prints the usage line", async () => {
    assert.deepEqual(
      (await run("%%px -t 1\n7")).out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[1]: 7"],
    );
    assert.deepEqual(
      (await run("%%px -t ::2\n7")).out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[0]: 7"],
    );
    assert.equal((await run("%%px --targets 0,1\n7")).out.length, 2);
    const bad = await run("%%px -t 9\n1");
    assert.equal(bad.status, "error");
    assert.match(String(bad.reply.evalue), /engine 9 does not exist \(ids: 0, 1\)\nusage: %px CODE/);
    const flag = await run("%%px --bogus\n1");
    assert.equal(flag.status, "error");
    assert.match(String(flag.reply.evalue), /unknown option --bogus\nusage: %px/);
  });

  test("--group-outputs engine and order change the grouping; type is the default", async () => {
    const cell = 'console.log("a"); display.text("d1"); display.text("d2"); 5';
    const strip = (xs: string[]) => xs.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]"));
    const byType = strip((await run(`%%px --no-stream\n${cell}`)).out);
    assert.deepEqual(byType.slice(0, 2), ["stdout> [stdout:0] a\n", "stdout> [stdout:1] a\n"]);
    const byEngine = strip((await run(`%%px --no-stream -e\n${cell}`)).out);
    assert.deepEqual(byEngine, [
      "stdout> [stdout:0] a\n",
      "stdout> [output:0]\n",
      "display_data> d1",
      "stdout> [output:0]\n",
      "display_data> d2",
      "display_data> Out[0]: 5",
      "stdout> [stdout:1] a\n",
      "stdout> [output:1]\n",
      "display_data> d1",
      "stdout> [output:1]\n",
      "display_data> d2",
      "display_data> Out[1]: 5",
    ]);
    const byOrder = strip((await run(`%%px --no-stream --group-outputs=order\n${cell}`)).out);
    assert.deepEqual(byOrder.slice(2, 10), [
      "stdout> [output:0]\n",
      "display_data> d1",
      "stdout> [output:1]\n",
      "display_data> d1",
      "stdout> [output:0]\n",
      "display_data> d2",
      "stdout> [output:1]\n",
      "display_data> d2",
    ]);
  });

  test("errors: one engine shows its exception, several a CompositeError with per-engine tracebacks", async () => {
    const one = await run('%%px -t 0\nthrow new TypeError("bad input")');
    assert.equal(one.status, "error");
    assert.equal(one.reply.ename, "TypeError");
    assert.match((one.reply.traceback as string[])[0]!, /^\[0:execute\] TypeError: bad input/);
    const all = await run('%px throw new RangeError("nope")');
    assert.equal(all.reply.ename, "CompositeError");
    const tb = (all.reply.traceback as string[]).join("\n");
    assert.match(tb, /\[0:execute\] RangeError: nope\n\s+at %px cell \d+:1:7/);
    assert.match(tb, /\[1:execute\] RangeError: nope/);
  });

  test("--noblock returns an AsyncResult at once; %pxresult waits and shows the outputs", async () => {
    const r = await run("%%px --noblock\nawait new Promise((res) => setTimeout(res, 300)); 42");
    assert.equal(r.status, "ok");
    assert.match(r.out[0]!, /^execute_result> <AsyncResult: pending, 0\/2 done/);
    const res = await run("%pxresult");
    assert.deepEqual(
      res.out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[0]: 42", "display_data> Out[1]: 42"],
    );
  });

  test("-o keeps the AsyncResult in the kernel; --local also runs the cell in the kernel", async () => {
    assert.equal((await run("%%px -o held\n3")).status, "ok");
    const ids = await run("held.msgIds.length");
    assert.equal(ids.out.at(-1), "execute_result> 2");
    assert.equal((await run("%%px --local\nconst both = 6 * 7")).status, "ok");
    assert.equal((await run("both")).out.at(-1), "execute_result> 42");
    assert.match((await run("%px both")).out[0]!, /Out\[0:\d+\]: 42/);
  });

  test("--verbose names the engines; --progress-after 0 shows a progress display updated in place", async () => {
    assert.match(
      (await run("%%px --verbose\n1")).out[0]!,
      /^stdout> Parallel execution on engine\(s\): 0, 1/,
    );
    const r = await run("%%px --progress-after 0\nawait new Promise((res) => setTimeout(res, 700)); 1");
    const progress = r.raw.filter((m) => (content(m).transient as C | undefined)?.display_id !== undefined);
    assert.ok(progress.length >= 2, `progress messages: ${texts(progress)}`);
    assert.equal(progress[0]!.header.msg_type, "display_data");
    assert.equal(progress.at(-1)!.header.msg_type, "update_display_data");
    assert.match(String((content(progress.at(-1)!).data as C)["text/plain"]), /2\/2 engines done/);
  });

  test("%pxconfig sets default targets; %autopx sends every cell to the engines until toggled", async () => {
    assert.match((await run("%pxconfig -t 1")).out[0]!, /targets=1/);
    assert.deepEqual(
      (await run("%px 8")).out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[1]: 8"],
    );
    await run("%pxconfig --targets all");
    assert.match((await run("%autopx")).out[0]!, /%autopx enabled/);
    const onEngines = await run("const where = 'engine'; where");
    assert.equal(onEngines.out.length, 2);
    assert.match(onEngines.out[0]!, /Out\[0:\d+\]: 'engine'/);
    assert.match((await run("%autopx")).out[0]!, /%autopx disabled/);
    // The kernel never saw the declaration: it ran on the engines only.
    const local = await run("typeof where");
    assert.equal(local.out.at(-1), "error> CompileError: 1:8 Cannot find name 'where'.");
  });

  test("names sent with scatter and set are typed for functions shipped with apply and for %px", async () => {
    const sent = await run(
      'import { Client } from "tsparallel";\nconst v = Client.current!.view();\nawait v.scatter("xs", [1, 2, 3, 4]);\nawait v.set("factor", 10);\nundefined',
    );
    assert.equal(sent.status, "ok", JSON.stringify(sent.reply));
    const applied = await run("await v.apply(() => xs.map((n) => n * factor))");
    assert.equal(applied.out.at(-1), "execute_result> [ [ 10, 20 ], [ 30, 40 ] ]");
    assert.match((await run("%px xs.length * factor")).out[0]!, /Out\[0:\d+\]: 20/);
    const misuse = await run("const wrong = () => xs.toUpperCase()");
    assert.equal(misuse.reply.ename, "CompileError");
    assert.match(String(misuse.reply.evalue), /'toUpperCase' does not exist on type 'number\[\]'/);
  });

  test("pull, get and gather of names the notebook sent keep their types; other names stay unknown", async () => {
    const sent = await run(
      'import * as nd from "tsparallel/ndarray";\nconst e0 = Client.current!.at(0);\nawait v.push({ A: nd.arange(6).reshape(2, 3) });\nundefined',
    );
    assert.equal(sent.status, "ok", JSON.stringify(sent.reply));
    // xs was scattered as a number[] above: it gathers as one.
    assert.equal((await run('(await v.gather("xs")).join(",")')).out.at(-1), "execute_result> '1,2,3,4'");
    assert.equal((await run('(await e0.pull("A")).sum()')).out.at(-1), "execute_result> 15");
    assert.equal(
      (await run('(await v.get("A")).map((a) => a.shape.join("x"))')).out.at(-1),
      "execute_result> [ '2x3', '2x3' ]",
    );
    const misuse = await run('(await e0.pull("A")).nosuch');
    assert.equal(misuse.reply.ename, "CompileError");
    assert.match(String(misuse.reply.evalue), /Property 'nosuch' does not exist on type 'NDArray'/);
    const unknownName = await run('(await v.gather("neverSent")).length');
    assert.equal(unknownName.reply.ename, "CompileError");
    assert.match(String(unknownName.reply.evalue), /is of type 'unknown'/);
    const explicit = await run('const asText: string = await e0.pull<string>("A");\ntypeof asText');
    assert.equal(explicit.status, "ok", JSON.stringify(explicit.reply));
  });

  test("a name sent again with another type is read back with the new type", async () => {
    assert.equal((await run('await v.scatter("xs", ["a", "b"]);\nundefined')).status, "ok");
    const upper = await run('(await v.gather("xs")).map((s) => s.toUpperCase())');
    assert.equal(upper.out.at(-1), "execute_result> [ 'A', 'B' ]");
    const asNumbers = await run('(await v.gather("xs")).map((n) => n * 2)');
    assert.equal(asNumbers.reply.ename, "CompileError");
    assert.match(String(asNumbers.reply.evalue), /arithmetic operation/);
  });

  test("ar.waitInteractive() shows one progress output that updates in place", async () => {
    const r = await run(
      "const slow = Client.current!.view().apply(() => new Promise((res) => setTimeout(() => res(1), 600)));\nawait slow.waitInteractive({ interval: 100 })",
    );
    assert.equal(r.status, "ok", JSON.stringify(r.reply));
    const ids = new Set(
      r.raw.map((m) => (content(m).transient as C | undefined)?.display_id).filter(Boolean),
    );
    assert.equal(ids.size, 1, "one display, updated in place");
    const last = r.raw.filter((m) => m.header.msg_type === "update_display_data").at(-1)!;
    assert.match(String((content(last).data as C)["text/plain"]), /2\/2 tasks done/);
    assert.equal(r.out.at(-1), "execute_result> true");
  });

  test("%px import loads a package on every engine", async () => {
    assert.equal((await run('%px import * as nd from "tsparallel/ndarray"')).status, "ok");
    const r = await run("%px nd.arange(4).sum()");
    assert.deepEqual(
      r.out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[0]: 6", "display_data> Out[1]: 6"],
    );
  });

  test("view.activate('2') gives %px2 on that view's engines", async () => {
    const a = await run('import { Client } from "tsparallel";\nClient.current!.view([1]).activate("2");');
    assert.equal(a.status, "ok", JSON.stringify(a.reply));
    assert.deepEqual(
      (await run("%px2 9")).out.map((s) => s.replace(/(Out\[\d+):\d+\]/, "$1]")),
      ["display_data> Out[1]: 9"],
    );
  });

  test("an interrupt during a blocking %px signals the engines, which stay usable", async () => {
    const id = await k.client.send("shell", "execute_request", {
      code: "%px while (true) {}",
      silent: false,
    });
    await new Promise((r) => setTimeout(r, 800));
    await k.client.send("control", "interrupt_request", {});
    const reply = await k.client.reply("shell", id, 20_000);
    assert.equal(content(reply).status, "error");
    assert.equal(content(reply).ename, "Interrupted");
    const after = await run("%px 2 + 2");
    assert.equal(after.status, "ok", JSON.stringify(after.reply));
    assert.equal(after.out.length, 2);
  });

  test("%cluster status, scale and stop", async () => {
    const s = await run("%cluster status");
    assert.match(s.out[0]!, /^display_data> engine\s+state/);
    assert.match(s.out[0]!, /traffic not encrypted/);
    assert.match((await run("%cluster scale 3")).out[0]!, /The cluster has 3 engines/);
    assert.equal((await run("%px 1")).out.length, 3);
    const bad = await run("%cluster scale many");
    assert.equal(bad.status, "error");
    assert.match(String(bad.reply.evalue), /usage: %cluster/);
    assert.match((await run("%cluster stop")).out[0]!, /Cluster stopped/);
    assert.equal((await run("%px 1")).status, "error");
  });

  test("%cluster start --launcher mpi gives %px each engine's rank; bad launchers say what to use", {
    skip: systemCommand("mpiexec") ? undefined : needs("mpi", "mpiexec is not installed"),
  }, async () => {
    const bogus = await run("%cluster start --launcher bogus");
    assert.equal(bogus.status, "error");
    assert.match(String(bogus.reply.evalue), /unknown launcher "bogus": use one of local, ssh, slurm, mpi/);
    const noHosts = await run("%cluster start --launcher ssh");
    assert.match(String(noHosts.reply.evalue), /the ssh launcher needs hosts .*--hosts/);
    const started = await run("%cluster start -n 2 --launcher mpi");
    assert.equal(started.status, "ok", JSON.stringify(started.reply));
    assert.match(
      started.out.join(""),
      /^stdout> Started an MPI cluster with 2 engines in .*\nstdout> Engines: mpiexec \(pid \d+\): 2 ranks on /,
    );
    const ranks = await run('%px "rank " + rank + " of " + nranks');
    assert.deepEqual(ranks.out.map((l) => /rank \d of 2/.exec(l)?.[0]).sort(), [
      "rank 0 of 2",
      "rank 1 of 2",
    ]);
    const scale = await run("%cluster scale 3");
    assert.equal(scale.status, "error");
    assert.match(String(scale.reply.evalue), /an MPI world has a fixed size/);
    assert.match((await run("%cluster stop")).out[0]!, /Cluster stopped/);
  });
});
