/**
 * The JupyterLab cluster panel in a real browser: `tsparallel lab` (real JupyterLab from .venv,
 * real "default" cluster), Debian's Chromium driven by playwright-core, and the panel's actions
 * checked against the real clusters through the client API: pause and resume, the task stream of
 * a flood (its pixels), the clusters a notebook starts and stops, names, confirmations, errors,
 * and a background `tsparallel lab` stopped by SIGINT.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { Client } from "../../engines/client/client.js";
import { processAlive } from "../../engines/launchers/process-alive.js";
import { countColour, decodePng } from "../helpers/png-pixels.js";
import { processesMentioning } from "../helpers/processes.js";
import { needs } from "../helpers/system-needs.js";
import { type LabServer, labUnavailable, startLabServer } from "./lab-server.js";

/**
 * What the checks read inside the page, where these exist: this file compiles without the DOM
 * library (it runs in Node; only the callbacks passed to the page run in the browser).
 */
declare const getComputedStyle: (element: unknown) => {
  opacity: string;
  cursor: string;
  backgroundColor: string;
};
interface PageElement {
  scrollWidth: number;
  clientWidth: number;
  textContent: string | null;
  disabled?: boolean;
  querySelector(selector: string): PageElement | null;
}

/** Debian's Chromium (apt-get install chromium): Playwright never downloads a browser here. */
const CHROMIUM = "/usr/bin/chromium";
/** The notebook the test works in: a long name, as users give them (its clusters are named after it). */
const NOTEBOOK = "long-notebook-name-for-clusters.ipynb";
/** What Cluster.start names the first cluster this notebook starts (the name is cut to 24 characters). */
const NB_CLUSTER = /^nb-long-notebook-name-for-c-\d+$/;
/** How long a paused engine must stay paused and listed (the heartbeat limit is 3 s). */
const PAUSE_MS = 10_000;

const card = (name: string) => `.tsp-Cluster[data-cluster="${name}"]`;
const rows = (name: string) => `${card(name)} .tsp-Engine[data-engine]`;

/** Polls `read` until it gives something `ok` accepts; fails with the last value after `ms`. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

/** Waits until the panel shows `n` engine rows for cluster `name`. */
async function engineRows(page: Page, name: string, n: number): Promise<void> {
  await until(
    () => page.locator(rows(name)).count(),
    (c) => c === n,
    30_000,
    `engines of "${name}"`,
  );
}

/** The engine ids the panel shows for a cluster. */
async function shownIds(page: Page, name: string): Promise<number[]> {
  return page.$$eval(rows(name), (trs) => trs.map((tr) => Number(tr.getAttribute("data-engine"))));
}

/** The Jupyter server's REST API, with the test's token. */
async function rest(lab: LabServer, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${lab.url}${path}`, {
    method,
    headers: { Authorization: `token ${lab.token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Runs `code` in the notebook's last (empty) cell with Shift+Enter and resolves with the cell's
 * output text once it has run (its prompt shows a number).
 */
async function runCell(page: Page, code: string, timeout = 60_000): Promise<string> {
  const cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell");
  const cell = cells.nth((await cells.count()) - 1);
  await cell.locator(".cm-content").click();
  await page.keyboard.insertText(code);
  await page.keyboard.press("Shift+Enter");
  const prompt = cell.locator(".jp-InputArea-prompt");
  await until(
    () => prompt.textContent(),
    (t) => /\[\d+\]/.test(t ?? ""),
    timeout,
    `the cell ${code}`,
  );
  return (await cell.locator(".jp-OutputArea-output").allTextContents()).join("\n");
}

/** A CSS colour ("rgb(78, 121, 167)") as numbers. */
function rgb(css: string): number[] {
  return (css.match(/\d+/g) ?? []).slice(0, 3).map(Number);
}

/** Whether an element looks disabled: dimmed, and says so to the pointer. */
async function looksDisabled(button: Locator): Promise<boolean> {
  return button.evaluate((b) => {
    const s = getComputedStyle(b);
    return (
      (b as unknown as PageElement).disabled === true &&
      Number(s.opacity) <= 0.6 &&
      s.cursor === "not-allowed"
    );
  });
}

test("the cluster panel shows clusters and engines live, and its actions act on the real clusters", async (t) => {
  const missing =
    labUnavailable() ?? (existsSync(CHROMIUM) ? undefined : needs("chromium", `no ${CHROMIUM}`));
  if (missing) return t.skip(missing);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-panel-"));
  const shots = (name: string) => join(dir, `${name}.png`);
  const lab = await startLabServer(dir, 2);
  // This process's client API finds the server's clusters in the same folder.
  const previousDir = process.env.TSPARALLEL_DIR;
  process.env.TSPARALLEL_DIR = lab.tsparallelDir;
  let browser: Browser | undefined;
  let client: Client | undefined;
  t.after(async () => {
    await client?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await lab.stop();
    process.env.TSPARALLEL_DIR = previousDir;
    if (process.env.TSPARALLEL_KEEP_TEST_DIR) console.log(`screenshots and logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  // A TypeScript notebook with a long name, opened with JupyterLab.
  await rest(lab, "PUT", `/api/contents/${NOTEBOOK}`, {
    type: "notebook",
    format: "json",
    content: {
      cells: [{ cell_type: "code", source: "", metadata: {}, outputs: [], execution_count: null }],
      metadata: {
        kernelspec: { name: "tsparallel", display_name: "TypeScript (parallel)", language: "typescript" },
      },
      nbformat: 4,
      nbformat_minor: 5,
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /tsparallel|tsp-/i.test(m.text())) pageErrors.push(m.text());
    });
    await page.goto(`${lab.url}/lab/tree/${NOTEBOOK}?token=${lab.token}`);

    // The panel is a tab of the left sidebar; opening it shows the "default" cluster of `tsparallel lab`.
    const tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="tsparallel-clusters"]');
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    await page.locator(`${card("default")}[data-state="running"]`).waitFor({ timeout: 30_000 });
    await engineRows(page, "default", 2);

    // What it shows is the real cluster: the same engines, processes and host.
    const rc = await Client.connect("default");
    client = rc;
    const status = await rc.queueStatus();
    assert.deepEqual(await shownIds(page, "default"), rc.ids);
    for (const id of rc.ids) {
      const info = rc.engines.get(id)!;
      const proc = await page
        .locator(`${rows("default")}[data-engine="${id}"] .tsp-Engine-proc`)
        .textContent();
      assert.equal(proc, `${info.pid}@${info.hostname}`);
      assert.equal(status.engines[id]?.state, "idle");
    }

    // The connect code goes into the notebook, where it reaches the same engines.
    await page.getByText("TypeScript (parallel) | Idle").waitFor({ timeout: 60_000 });
    await page.locator(".jp-NotebookPanel .jp-Cell").first().click();
    await page.getByRole("button", { name: "Connect code for cluster default" }).click();
    const connectCell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1);
    await connectCell.locator(".cm-content", { hasText: 'Client.connect("default")' }).waitFor();
    await connectCell.locator(".cm-content").click();
    await page.keyboard.press("Shift+Enter");
    const ids = connectCell.locator(".jp-OutputArea-output");
    await ids.waitFor({ timeout: 60_000 });
    assert.equal((await ids.textContent())?.trim(), `[ ${rc.ids.join(", ")} ]`);

    // Live: a long task makes engine 0 busy in the panel; its Interrupt button stops the task.
    const long = rc.at(0).apply(() => {
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        // a synchronous loop: only SIGINT stops it
      }
      return "not interrupted";
    });
    const settled = Promise.resolve(long).then(
      () => "finished",
      (e: Error) => e.message,
    );
    const engine0 = page.locator(`${rows("default")}[data-engine="0"]`);
    await page.locator(`${rows("default")}[data-engine="0"][data-state="busy"]`).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: shots("1-busy") });
    await engine0.getByRole("button", { name: "Interrupt engine 0" }).click();
    assert.notEqual(await settled, "finished", "the interrupted task ran to its end");
    await page.locator(`${rows("default")}[data-engine="0"][data-state="idle"]`).waitFor({ timeout: 15_000 });

    // Pause: SIGSTOP to all pauses, without a confirmation (nothing is lost).
    const signalBox = page.getByLabel("Signal for cluster default");
    const sendToAll = page.locator(card("default")).getByRole("button", { name: "Send to all" });
    await signalBox.selectOption("SIGSTOP");
    await sendToAll.click();
    const pausedAt = Date.now();
    await until(
      () => page.$$eval(`${rows("default")}[data-state="paused"]`, (r) => r.length),
      (n) => n === 2,
      10_000,
      "paused engines shown",
    );
    assert.equal(await page.locator(".jp-Dialog").count(), 0, "pausing asked for a confirmation");
    const waiting = rc.at(0).apply(() => "ran after the resume");
    let waited = false;
    void Promise.resolve(waiting).finally(() => (waited = true));

    // Meanwhile: the task stream opens in at most a second, and shows the engines paused.
    const opening = Date.now();
    await page.getByRole("button", { name: "Task stream of cluster default" }).click();
    const stream = page.locator('.tsp-TaskStream-body[data-cluster="default"]');
    await stream.waitFor({ timeout: 5000 });
    const openMs = Date.now() - opening;
    t.diagnostic(`the task stream opened in ${openMs} ms`);
    assert.ok(openMs <= 1000, `the task stream took ${openMs} ms to open`);
    await until(
      () => stream.locator('.tsp-TaskStream-label[data-state="paused"]').count(),
      (n) => n === 2,
      5000,
      "paused engines in the task stream",
    );

    // A signal that ends engines asks first, and cancelling sends nothing.
    await signalBox.selectOption("SIGKILL");
    await sendToAll.click();
    const dialog = page.locator(".jp-Dialog");
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /Send SIGKILL to all engines.*kills them at once/s);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });

    // A Scale button with nothing to change looks disabled.
    assert.ok(await looksDisabled(page.locator(card("default")).getByRole("button", { name: "Scale" })));

    // Still listed and paused after 10 s (the heartbeat limit is 3 s), its task waiting.
    await new Promise((r) => setTimeout(r, PAUSE_MS - (Date.now() - pausedAt)));
    assert.deepEqual(await shownIds(page, "default"), rc.ids);
    assert.equal(await page.locator(`${rows("default")}[data-state="paused"]`).count(), 2);
    assert.deepEqual((await rc.queueStatus()).engines[0]?.state, "paused");
    assert.equal(waited, false, "a task ran on a paused engine");
    await page.screenshot({ path: shots("2-paused") });
    // SIGCONT to all resumes them, and the waiting task runs.
    await signalBox.selectOption("SIGCONT");
    await sendToAll.click();
    assert.equal(await waiting, "ran after the resume");
    await until(
      () => page.locator(`${rows("default")}[data-state="paused"]`).count(),
      (n) => n === 0,
      5000,
      "paused engines after SIGCONT",
    );
    assert.deepEqual(rc.ids, await shownIds(page, "default"));

    // The task stream during a flood of 10,000 tasks: bars in each name's colour, and red.
    const lb = rc.loadBalancedView();
    const square = (x: number) => x * x;
    const boom = (x: number) => {
      if (x % 50 === 0) throw new Error(`no ${x}`);
      return x;
    };
    const cube = (x: number) => x * x * x;
    const items = (n: number) => Array.from({ length: n }, (_, i) => i);
    await lb.map(square, items(4000), { chunksize: 1 });
    await Promise.allSettled(items(2000).map((i) => lb.apply(boom, i)));
    await lb.map(cube, items(4000), { chunksize: 1 });
    await until(
      async () => Number(await stream.getAttribute("data-tasks")),
      (n) => n >= 10_000,
      10_000,
      "tasks in the task stream",
    );
    const legend = await page.$$eval(".tsp-TaskStream-legend li", (lis) =>
      lis.map((li) => [
        li.textContent ?? "",
        getComputedStyle((li as unknown as PageElement).querySelector(".tsp-Swatch") ?? li).backgroundColor,
      ]),
    );
    const colourOfName = (name: string) => {
      const entry = legend.find(([text]) => text.startsWith(name));
      assert.ok(entry, `no "${name}" in the legend: ${JSON.stringify(legend)}`);
      return rgb(entry[1]!);
    };
    assert.ok(
      legend.some(([text]) => text === "square (4000)"),
      JSON.stringify(legend),
    );
    const rowsShot = await stream
      .locator(".tsp-TaskStream-rows")
      .screenshot({ path: shots("3-task-stream-rows") });
    await page.screenshot({ path: shots("3-task-stream") });
    const pixels = decodePng(rowsShot);
    for (const name of ["square", "cube", "failed"]) {
      const drawn = countColour(pixels, colourOfName(name));
      t.diagnostic(`${name}: ${drawn} pixels`);
      assert.ok(drawn >= 15, `the task stream drew ${drawn} pixels of ${name}'s colour`);
    }
    const rateShot = decodePng(await stream.locator(".tsp-TaskStream-chart canvas").first().screenshot());
    assert.ok(countColour(rateShot, [78, 121, 167], 20) >= 10, "no tasks/s line drawn");
    assert.match(
      (await stream.locator(".tsp-TaskStream-figures").textContent()) ?? "",
      /2 engines · \d+ tasks\/s/,
    );

    // Back to the notebook: a cluster it starts has the notebook's name and comes first.
    await page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", { hasText: NOTEBOOK }).click();
    const started1 = await runCell(
      page,
      'import { Cluster } from "tsparallel";\nconst rc2 = await Cluster.start({ n: 1 });\nrc2.info.name',
    );
    const nbName = started1.trim().replace(/^'|'$/g, "");
    assert.match(nbName, NB_CLUSTER);
    await page.locator(`${card(nbName)}[data-state="running"]`).waitFor({ timeout: 15_000 });
    assert.equal(
      await page.locator(".tsp-Cluster").first().getAttribute("data-cluster"),
      nbName,
      "not first",
    );
    // Too long for the sidebar: the middle gives way, the end stays readable, the tooltip has it all.
    const nameEl = page.locator(`${card(nbName)} .tsp-Cluster-name`);
    assert.equal(await nameEl.getAttribute("title"), nbName);
    const fit = await nameEl.evaluate((el) => {
      const head = (el as unknown as PageElement).querySelector(".tsp-Cluster-name-head")!;
      const tail = (el as unknown as PageElement).querySelector(".tsp-Cluster-name-tail")!;
      return {
        shown: head.clientWidth + tail.clientWidth,
        cut: head.scrollWidth > head.clientWidth,
        tail: tail.textContent ?? "",
        tailWhole: tail.scrollWidth <= tail.clientWidth,
      };
    });
    // Most of it shows: at least 20 characters' room, the end whole, any cut in the middle.
    assert.ok(fit.tailWhole && nbName.endsWith(fit.tail) && fit.shown >= 150, JSON.stringify(fit));
    await page.screenshot({ path: shots("4-notebook-cluster") });
    // Its closing `await rc2.shutdown()` stops it: gone from the panel, no engine reported dead.
    await runCell(page, "await rc2.shutdown();");
    await page.locator(card(nbName)).waitFor({ state: "detached", timeout: 10_000 });
    assert.doesNotMatch(lab.log(), /is dead: exited with code 0/);

    // %cluster start while "default" runs says that %px moves; a kernel restart stops that cluster.
    const moved = await runCell(page, "%cluster start -n 1");
    const magicName = /%px now runs on this cluster \("([\w.-]+)"\), not on "default"\./.exec(moved)?.[1];
    assert.ok(magicName, `%cluster start did not say that %px moved:\n${moved}`);
    await page.locator(`${card(magicName)}[data-state="running"]`).waitFor({ timeout: 15_000 });
    const sessions = (await rest(lab, "GET", "/api/sessions")) as { path: string; kernel: { id: string } }[];
    const kernelId = sessions.find((s) => s.path.endsWith(NOTEBOOK))!.kernel.id;
    await rest(lab, "POST", `/api/kernels/${kernelId}/restart`);
    await page.locator(card(magicName)).waitFor({ state: "detached", timeout: 15_000 });
    await page.getByText("TypeScript (parallel) | Idle").waitFor({ timeout: 60_000 });
    assert.match(await runCell(page, "%px 40 + 2"), /%px runs on cluster "default" \(2 engines\)\./);

    // An interrupted cell shows the user's side only; %tb shows the full stack.
    const looping = runCell(page, "for (;;) {}");
    await new Promise((r) => setTimeout(r, 1500));
    await rest(lab, "POST", `/api/kernels/${kernelId}/interrupt`);
    const interrupted = await looping;
    assert.match(interrupted, /Interrupted: The cell was interrupted \(SIGINT\)/);
    assert.doesNotMatch(interrupted, /runCellScript|dist\/|node:internal/);
    assert.match(await runCell(page, "%tb"), /runCellScript \(.*dist\/kernel\/executor\/cell-runner\.js/);
    assert.match(
      await runCell(
        page,
        'import { Client } from "tsparallel";\nconst rc4 = await Client.connect("default");\nrc4.ids',
      ),
      /\[ 0, 1 \]/,
    );

    // Scale to 3 from the panel: the real cluster gets a third engine, and the panel shows it.
    await page.getByLabel("Engine count for cluster default").fill("3");
    await page.locator(card("default")).getByRole("button", { name: "Scale" }).click();
    await engineRows(page, "default", 3);
    await rc.waitForEngines(3, { timeout: 10_000 });
    assert.deepEqual(await shownIds(page, "default"), rc.ids);
    await page.locator(`${card("default")} .tsp-Notice-info`, { hasText: "Scaled to 3 engines" }).waitFor();

    // A second cluster from the panel's form; a taken name disables Start, and it looks so.
    await page.getByRole("button", { name: "New cluster" }).click();
    await page.getByLabel("Cluster name").fill("default");
    assert.ok(await looksDisabled(page.getByRole("button", { name: "Start", exact: true })));
    await page.getByLabel("Cluster name").fill("second");
    await page.getByLabel("Number of engines").fill("1");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.locator(`${card("second")}[data-state="running"]`).waitFor({ timeout: 30_000 });
    await engineRows(page, "second", 1);
    const secondFile = join(lab.tsparallelDir, "clusters", "second.json");
    assert.ok(existsSync(secondFile), "no connection file for the cluster started from the panel");
    assert.equal(await page.locator(".tsp-Cluster").first().getAttribute("data-cluster"), "second");
    await page.screenshot({ path: shots("5-two-clusters") });

    // An action that fails says why: the engine to restart dies while the confirmation is open.
    const victim = rc.ids[1]!;
    await page
      .locator(`${rows("default")}[data-engine="${victim}"]`)
      .getByRole("button", { name: `Restart engine ${victim}` })
      .click();
    await page.locator(".jp-Dialog").waitFor();
    const gone = new Promise<void>((resolve) =>
      rc.on("engineRemoved", (e) => {
        if (e.id === victim) resolve();
      }),
    );
    process.kill(rc.engines.get(victim)!.pid, "SIGKILL");
    await gone;
    await page.locator(".jp-Dialog .jp-Dialog-button", { hasText: "Restart" }).click();
    const failure = page.locator(`${card("default")} .tsp-Notice-error`);
    await failure.waitFor({ timeout: 15_000 });
    assert.match((await failure.textContent()) ?? "", /Restarting engine \d+ failed: .*does not exist/);
    await engineRows(page, "default", 2);

    // A controller that died: the panel says so and cleans up after it.
    const second = JSON.parse(readFileSync(secondFile, "utf8")) as { controller_pid: number };
    process.kill(second.controller_pid, "SIGKILL");
    await page.locator(`${card("second")}[data-state="stale"]`).waitFor({ timeout: 15_000 });
    assert.match(
      (await page.locator(`${card("second")} .tsp-Cluster-message`).textContent()) ?? "",
      /not running/,
    );
    await page.locator(card("second")).getByRole("button", { name: "Clean up" }).click();
    await page.locator(card("second")).waitFor({ state: "detached", timeout: 15_000 });
    assert.ok(!existsSync(secondFile), "clean up left the connection file");

    // Stop the last cluster: its controller exits and the panel says how to start one.
    const controllerPid = (
      JSON.parse(readFileSync(join(lab.tsparallelDir, "clusters", "default.json"), "utf8")) as {
        controller_pid: number;
      }
    ).controller_pid;
    await page.locator(card("default")).getByRole("button", { name: "Stop" }).click();
    await page.locator(".jp-Dialog .jp-Dialog-button", { hasText: "Stop" }).click();
    await page.locator(".tsp-Empty").waitFor({ timeout: 20_000 });
    assert.match(
      (await page.locator(".tsp-Empty").textContent()) ?? "",
      /No clusters running.*tsparallel cluster start/s,
    );
    assert.throws(() => process.kill(controllerPid, 0), "the stopped cluster's controller still runs");
    await page.screenshot({ path: shots("6-no-clusters") });

    // A call after the panel stopped its cluster: the user's frame, none of ours.
    const late = await runCell(page, "await rc4.at(0).apply(() => 1)");
    assert.match(late, /ClusterError: .*\n\s+at cell \d+:1:\d+/);
    assert.doesNotMatch(late, /dist\/|node_modules|node:internal/);

    // A background `tsparallel lab` (no terminal) stopped with SIGINT stops what it started:
    // its kernels, and the clusters their notebooks started.
    const kernelPid = Number(await runCell(page, "process.pid"));
    const started3 = await runCell(
      page,
      'import { Cluster } from "tsparallel";\nconst rc5 = await Cluster.start({ n: 1 });\nrc5.info.controller_pid',
    );
    const nbController = Number(started3.trim());
    assert.ok(processAlive(kernelPid) && processAlive(nbController), `${kernelPid} ${nbController}`);
    const runtimeKernels = processesMentioning(join(dir, "jupyter-runtime"));
    assert.ok(runtimeKernels.includes(kernelPid), `kernel ${kernelPid} not in ${runtimeKernels}`);
    assert.deepEqual(pageErrors, [], `errors in the page:\n${pageErrors.join("\n")}`);
    await browser.close();
    browser = undefined;
    const exited = new Promise((resolve) => lab.process.once("exit", resolve));
    process.kill(lab.process.pid!, "SIGINT");
    await exited;
    await until(
      async () => [...runtimeKernels, nbController].filter(processAlive),
      (left) => left.length === 0,
      10_000,
      "processes left after SIGINT",
    );
    t.diagnostic(`the browser test took ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (e) {
    // What the page and the server showed when it failed (the temp dir is kept).
    process.env.TSPARALLEL_KEEP_TEST_DIR = "1";
    await page.screenshot({ path: shots("failure") }).catch(() => {});
    console.log(`--- JupyterLab log (last 4000 characters):\n${lab.log().slice(-4000)}`);
    throw e;
  }
});
