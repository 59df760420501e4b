/**
 * The JupyterLab cluster panel in a real browser: `tsparallel lab` (real JupyterLab from .venv,
 * real "default" cluster), Debian's Chromium driven by playwright-core, and the panel's actions
 * checked against the real clusters through the client API.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { Client } from "../../engines/client/client.js";
import { needs } from "../helpers/system-needs.js";
import { labUnavailable, startLabServer } from "./lab-server.js";

/** Debian's Chromium (apt-get install chromium): Playwright never downloads a browser here. */
const CHROMIUM = "/usr/bin/chromium";

const card = (name: string) => `.tsp-Cluster[data-cluster="${name}"]`;
const rows = (name: string) => `${card(name)} .tsp-Engine[data-engine]`;

/** Waits until the panel shows `n` engine rows for cluster `name`. */
async function engineRows(page: Page, name: string, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let shown = -1;
  while (Date.now() < deadline) {
    shown = await page.locator(rows(name)).count();
    if (shown === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the panel shows ${shown} engines of "${name}", not ${n}`);
}

/** The engine ids the panel shows for a cluster. */
async function shownIds(page: Page, name: string): Promise<number[]> {
  return page.$$eval(rows(name), (trs) => trs.map((tr) => Number(tr.getAttribute("data-engine"))));
}

test("the cluster panel shows clusters and engines live, and its actions act on the real clusters", async (t) => {
  const missing =
    labUnavailable() ?? (existsSync(CHROMIUM) ? undefined : needs("chromium", `no ${CHROMIUM}`));
  if (missing) return t.skip(missing);
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

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /tsparallel|tsp-/i.test(m.text())) pageErrors.push(m.text());
    });
    await page.goto(`${lab.url}/lab?token=${lab.token}`);

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

    // The connect code goes into a TypeScript notebook, where it reaches the same engines.
    await page.locator('.jp-LauncherCard[data-category="Notebook"][title="TypeScript (parallel)"]').click();
    await page.locator(".jp-NotebookPanel .jp-Cell").first().waitFor({ timeout: 30_000 });
    // The kernel is up once the status bar says so (a cell run before that waits for it anyway).
    await page.getByText("TypeScript (parallel) | Idle").waitFor({ timeout: 60_000 });
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
    const outcome = await settled;
    assert.notEqual(outcome, "finished", "the interrupted task ran to its end");
    await page.locator(`${rows("default")}[data-engine="0"][data-state="idle"]`).waitFor({ timeout: 15_000 });

    // Scale to 3 from the panel: the real cluster gets a third engine, and the panel shows it.
    await page.getByLabel("Engine count for cluster default").fill("3");
    await page.locator(card("default")).getByRole("button", { name: "Scale" }).click();
    await engineRows(page, "default", 3);
    await rc.waitForEngines(3, { timeout: 10_000 });
    assert.deepEqual(await shownIds(page, "default"), rc.ids);
    await page.locator(`${card("default")} .tsp-Notice-info`, { hasText: "Scaled to 3 engines" }).waitFor();

    // A second cluster from the panel's form.
    await page.getByRole("button", { name: "New cluster" }).click();
    await page.getByLabel("Cluster name").fill("second");
    await page.getByLabel("Number of engines").fill("1");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.locator(`${card("second")}[data-state="running"]`).waitFor({ timeout: 30_000 });
    await engineRows(page, "second", 1);
    const secondFile = join(lab.tsparallelDir, "clusters", "second.json");
    assert.ok(existsSync(secondFile), "no connection file for the cluster started from the panel");
    await page.screenshot({ path: shots("2-two-clusters") });

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
    await page.screenshot({ path: shots("3-failed-action") });

    // A controller that died: the panel says so and cleans up after it.
    const second = JSON.parse(readFileSync(secondFile, "utf8")) as { controller_pid: number };
    process.kill(second.controller_pid, "SIGKILL");
    await page.locator(`${card("second")}[data-state="stale"]`).waitFor({ timeout: 15_000 });
    assert.match(
      (await page.locator(`${card("second")} .tsp-Cluster-message`).textContent()) ?? "",
      /not running/,
    );
    await page.screenshot({ path: shots("4-controller-died") });
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
    await page.screenshot({ path: shots("5-no-clusters") });

    assert.deepEqual(pageErrors, [], `errors in the page:\n${pageErrors.join("\n")}`);
  } catch (e) {
    // What the page and the server showed when it failed (the temp dir is kept).
    process.env.TSPARALLEL_KEEP_TEST_DIR = "1";
    await page.screenshot({ path: shots("failure") }).catch(() => {});
    console.log(`--- JupyterLab log (last 4000 characters):\n${lab.log().slice(-4000)}`);
    throw e;
  }
});
