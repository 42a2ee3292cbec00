// ui.test.mjs - the web UI in a real browser (Debian's headless Chromium, driven by playwright-core)
// against a running `swarmflow scheduler`; run by tests/e2e/76_ui.sh, which makes the DAGs.
//
// Environment:
//   SWARMFLOW_UI_URL     the UI's base URL, e.g. http://127.0.0.1:18080/ (required)
//   SWARMFLOW_UI_TOKEN   the API token (required: the test also checks what happens without it)
//   UI_DAG               a DAG extract -> {transform_a, transform_b} -> load (default ui_demo);
//                        its task extract echoes "greeting={{ conf.greeting }}"
//   UI_HOSTILE_DAG       a DAG whose description and task `shout` output carry HTML (ui_hostile)
//   UI_TAIL_DAG          a DAG whose task `ticker` prints "tick 1" .. "tick 6", one a second
//   UI_MAPPED_DAG        list_files -> process (mapped over a.csv b.csv c.csv, output
//                        "rows-of-ITEM") -> gather (default ui_mapped)
//   UI_ARTIFACTS         where the screenshots go (default tests/artifacts/ of the repo)
//   UI_RUN_TIMEOUT_MS    how long a triggered run may take to succeed (default 180000)
//   CHROMIUM             the browser (default /usr/bin/chromium)
// Exits 0 when every check passed; prints one line per check and "N passed, N failed".
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.SWARMFLOW_UI_URL;
const TOKEN = process.env.SWARMFLOW_UI_TOKEN;
const DAG = process.env.UI_DAG || 'ui_demo';
const HOSTILE = process.env.UI_HOSTILE_DAG || 'ui_hostile';
const TAIL = process.env.UI_TAIL_DAG || 'ui_tail';
const MAPPED = process.env.UI_MAPPED_DAG || 'ui_mapped';
const ARTIFACTS = process.env.UI_ARTIFACTS || path.join(HERE, '..', 'artifacts');
const RUN_TIMEOUT = Number(process.env.UI_RUN_TIMEOUT_MS || 180000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const XSS_IMG = '<img src=x onerror=window.__xss=1>';
const XSS_SCRIPT = '<script>window.__xss=1</script>';
const DEMO_TASKS = ['extract', 'transform_a', 'transform_b', 'load'];

if (!BASE || !TOKEN) {
  console.error('ui.test.mjs: set SWARMFLOW_UI_URL and SWARMFLOW_UI_TOKEN');
  process.exit(2);
}
const ORIGIN = new URL(BASE).origin;

let passed = 0;
let failed = 0;
const pageErrors = [];
const refusals = []; // what the browser refused (Content-Security-Policy and the like)
const foreignRequests = [];

class CheckError extends Error {}

function assert(cond, what) {
  if (!cond) throw new CheckError(what);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof CheckError ? e.message : e.stack || e}`);
    throw e;
  }
}

// api(method, path, body, token): the scheduler's REST API, straight from node.
async function api(method, p, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(ORIGIN + '/ui/api' + p, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, text };
}

const enc = encodeURIComponent;

// visit(page, h): shows the page of hash h afresh (a reload when the browser is already there,
// since setting the same hash again changes nothing).
async function visit(page, h) {
  if (page.url() === BASE + h) await page.reload();
  else await page.goto(BASE + h);
}

async function openTrigger(page) {
  if (!(await page.locator('#trigger-conf').isVisible())) await page.locator('#trigger-open').click();
}
const hash = (...parts) => '#/' + parts.map(enc).join('/');

async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file });
  console.log(`     screenshot ${file}`);
}

async function noMarkupInjected(page, where) {
  const found = await page.evaluate(() => ({
    xss: typeof window.__xss !== 'undefined',
    imgs: document.querySelectorAll('#app img, #flash img').length,
    scripts: document.querySelectorAll('#app script, #flash script').length,
  }));
  assert(!found.xss, `${where}: window.__xss was set: some API text ran as markup`);
  assert(found.imgs === 0, `${where}: ${found.imgs} <img> element(s) made from API text`);
  assert(found.scripts === 0, `${where}: ${found.scripts} <script> element(s) made from API text`);
}

// waitRunDone(page, dag, run, tasks): waits until the grid shows every task of run as success
// (or one as failed, which fails the check).
async function waitGridSuccess(page, run, tasks) {
  const handle = await page.waitForFunction(({ run, n }) => {
    const cells = [...document.querySelectorAll('#grid a.cell')].filter((c) => c.dataset.run === run);
    if (cells.some((c) => ['failed', 'upstream_failed'].includes(c.dataset.state))) {
      return 'failed: ' + cells.map((c) => `${c.dataset.task}=${c.dataset.state}`).join(' ');
    }
    return cells.length === n && cells.every((c) => c.dataset.state === 'success') ? 'success' : false;
  }, { run, n: tasks.length }, { timeout: RUN_TIMEOUT, polling: 500 });
  const outcome = await handle.jsonValue();
  assert(outcome === 'success', `run ${run} in the grid: ${outcome}`);
}

async function triggerFromUi(page, dag, confText) {
  await visit(page, hash('dag', dag));
  await openTrigger(page);
  await page.locator('#trigger-conf').fill(confText);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/ui/api/dags/${enc(dag)}/runs`)),
    page.locator('#trigger-submit').click(),
  ]);
  assert(resp.status() === 201, `POST runs answered ${resp.status()}: ${await resp.text()}`);
  const run = await resp.json();
  assert(typeof run.run_id === 'string' && run.run_id, 'the 201 answer carries a run_id');
  await page.locator('#trigger-ok').waitFor();
  return run.run_id;
}

async function openTryFromGrid(page, dag, run, task) {
  await visit(page, hash('dag', dag));
  const cell = page.locator(`#grid a.cell[data-run="${run}"][data-task="${task}"]`);
  await cell.click();
  await page.waitForFunction((t) => location.hash.includes('/task/' + encodeURIComponent(t)), task);
  await page.waitForFunction(() => document.querySelector('#log-state')?.textContent.startsWith('complete'),
    null, { timeout: 60000 });
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmflow-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 768 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) refusals.push(m.text());
  });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(ORIGIN + '/') && !u.startsWith('data:')) foreignRequests.push(u);
  });
  let demoRun = '';
  try {
    await step('the DAG list shows the DAGs and the import errors', async () => {
      await page.goto(BASE);
      await page.locator(`tr[data-dag="${DAG}"]`).waitFor();
      await page.locator(`tr[data-dag="${HOSTILE}"]`).waitFor();
      const link = page.locator(`tr[data-dag="${DAG}"] td.dag-id a`);
      assert((await link.textContent()) === DAG, 'the DAG id is the link text');
      assert((await link.getAttribute('href')) === hash('dag', DAG), 'the DAG links to its page');
      const errs = await page.locator('#import-errors li').allTextContents();
      assert(errs.some((t) => /broken\.dag:\d+: /.test(t)), `an import error as file:line: message, got ${JSON.stringify(errs)}`);
      assert(errs.some((t) => t.includes(XSS_IMG)), 'the hostile upstream name is shown literally in the import error');
    });

    await step('hostile text in the DAG list is shown literally and never runs', async () => {
      const desc = await page.locator(`tr[data-dag="${HOSTILE}"] td.desc`).textContent();
      assert(desc.includes(XSS_IMG) && desc.includes(XSS_SCRIPT), `description shown literally, got ${JSON.stringify(desc)}`);
      await noMarkupInjected(page, 'DAG list');
    });

    await step('a write without the token shows the server\'s 401/403 message', async () => {
      const direct = await api('POST', `/dags/${enc(DAG)}/runs`, { conf: {} });
      assert(direct.status === 401 || direct.status === 403, `POST runs without a token answered ${direct.status}`);
      const serverMsg = direct.json && direct.json.error;
      assert(typeof serverMsg === 'string' && serverMsg, `the 401 carries {"error": ...}, got ${direct.text}`);
      await visit(page, hash('dag', DAG));
      await openTrigger(page);
      await page.locator('#trigger-conf').fill('{}');
      await page.locator('#trigger-submit').click();
      await page.locator('#trigger-error', { hasText: serverMsg }).waitFor();
      const shown = await page.locator('#trigger-error').textContent();
      assert(shown.includes(`HTTP ${direct.status}`), `the status is named: ${shown}`);
      assert(await page.locator('#token-input.attention').count() === 1, 'the token field is marked');
    });

    await step('the token is kept in localStorage and sent on writes', async () => {
      await page.locator('#token-input').fill(TOKEN);
      await page.locator('#token-form button[type=submit]').click();
      await page.locator('#token-state', { hasText: 'token set' }).waitFor();
      await page.reload();
      assert(await page.locator('#token-input').inputValue() === TOKEN, 'the token survives a reload');
    });

    await step('the paused switch pauses and unpauses through the API', async () => {
      await visit(page, '#/dags');
      const sw = page.locator(`tr[data-dag="${DAG}"] label.switch`);
      const input = page.locator(`tr[data-dag="${DAG}"] input[role=switch]`);
      for (const want of [true, false]) {
        const [resp] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'PATCH'),
          sw.click(),
        ]);
        assert(resp.ok(), `PATCH answered ${resp.status()}: ${await resp.text()}`);
        const dag = await api('GET', `/dags/${enc(DAG)}`);
        assert(dag.json && dag.json.paused === want, `after the click the API says paused=${dag.json && dag.json.paused}, want ${want}`);
        assert((await input.isChecked()) === !want, 'the switch shows the new state');
      }
    });

    await step('Trigger checks the conf JSON in the browser', async () => {
      await visit(page, hash('dag', DAG));
      let posts = 0;
      const count = (r) => { if (r.method() === 'POST') posts++; };
      page.on('request', count);
      await openTrigger(page);
      await page.locator('#trigger-conf').fill('{"greeting": ');
      await page.locator('#trigger-submit').click();
      await page.locator('#trigger-error', { hasText: 'not valid JSON' }).waitFor();
      await page.locator('#trigger-conf').fill('["a list"]');
      await page.locator('#trigger-submit').click();
      await page.locator('#trigger-error', { hasText: 'must be a JSON object' }).waitFor();
      page.off('request', count);
      assert(posts === 0, `${posts} POST(s) sent for a bad conf`);
    });

    const greeting = 'hello-ui-' + Math.random().toString(16).slice(2, 8);
    await step('Trigger with a conf; the grid turns green', async () => {
      demoRun = await triggerFromUi(page, DAG, JSON.stringify({ greeting }, null, 2));
      await waitGridSuccess(page, demoRun, DEMO_TASKS);
      const rows = await page.locator('#grid tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.task));
      assert(JSON.stringify(rows) === JSON.stringify(DEMO_TASKS) ||
        (rows[0] === 'extract' && rows[3] === 'load' && rows.length === 4), `rows in topological order, got ${rows}`);
      const bar = page.locator(`#grid .run-bar[data-run="${demoRun}"]`);
      await page.waitForFunction((r) => [...document.querySelectorAll('#grid .run-bar')]
        .some((b) => b.dataset.run === r && b.dataset.state === 'success'), demoRun, { timeout: 30000 });
      assert(await bar.count() === 1, 'one column head for the run');
      await page.mouse.move(0, 0);
      await shot(page, 'ui-grid.png');
      await page.locator('#flash .msg button').evaluateAll((bs) => bs.forEach((b) => b.click()));
      await shot(page, 'ui-dag.png'); // docs/web.md's picture: without the "queued" message
    });

    await step('the graph: layered boxes coloured by the latest run', async () => {
      await page.locator('.tabs a[data-tab=graph]').click();
      await page.locator('#graph-svg .node').first().waitFor();
      await page.waitForFunction(() => [...document.querySelectorAll('#graph-svg .node')].every((n) => n.dataset.state === 'success'),
        null, { timeout: 20000 });
      const nodes = await page.locator('#graph-svg .node').evaluateAll((ns) => ns.map((n) => {
        const r = n.querySelector('rect');
        return { id: n.dataset.task, x: Number(r.getAttribute('x')), text: n.querySelector('text.name').textContent };
      }));
      const by = Object.fromEntries(nodes.map((n) => [n.id, n]));
      assert(nodes.length === 4 && DEMO_TASKS.every((t) => by[t] && by[t].text === t), `four named boxes, got ${JSON.stringify(nodes)}`);
      assert(by.extract.x < by.transform_a.x && by.transform_a.x === by.transform_b.x && by.transform_b.x < by.load.x,
        `layers extract < transform_a = transform_b < load, got ${JSON.stringify(nodes)}`);
      const edges = await page.locator('#graph-svg path.edge').evaluateAll((es) => es.map((e) => `${e.dataset.from}>${e.dataset.to}`).sort());
      assert(JSON.stringify(edges) === JSON.stringify(['extract>transform_a', 'extract>transform_b', 'transform_a>load', 'transform_b>load']),
        `edges ${edges}`);
      await page.mouse.move(0, 0);
      await shot(page, 'ui-graph.png');
    });

    await step('the task try page: state, exit code, service, and the log with the conf', async () => {
      await openTryFromGrid(page, DAG, demoRun, 'extract');
      const log = await page.locator('#log').textContent();
      assert(log.includes('greeting=' + greeting), `the log shows the echoed conf value; it is ${JSON.stringify(log)}`);
      const fact = async (k) => (await page.locator(`#try-facts [data-fact=${k}]`).textContent()).trim();
      assert(await fact('state') === 'success', 'state success');
      assert(await fact('exit_code') === '0', `exit code 0, got ${await fact('exit_code')}`);
      assert((await fact('service_name')).includes('extract'), `a service name, got ${await fact('service_name')}`);
      assert(await fact('start_date') !== '—' && await fact('end_date') !== '—', 'start and end shown');
      assert(await page.locator('.try-tabs a[data-try="1"].active').count() === 1, 'try 1 is the shown try');
      await shot(page, 'ui-task-log.png');
    });

    await step('the run page shows the conf; Clear runs a task again', async () => {
      await visit(page, hash('dag', DAG, 'run', demoRun));
      await page.locator('#run-conf', { hasText: greeting }).waitFor();
      await page.locator('table.tis input[data-task="load"]').check();
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/clear')),
        page.locator('#clear-submit').click(),
      ]);
      assert(resp.ok(), `clear answered ${resp.status()}: ${await resp.text()}`);
      const body = JSON.parse(resp.request().postData());
      assert(JSON.stringify(body.tasks) === '["load"]', `clear sent ${JSON.stringify(body)}`);
      const deadline = Date.now() + RUN_TIMEOUT;
      let load = null;
      while (Date.now() < deadline) {
        const tis = await api('GET', `/dags/${enc(DAG)}/runs/${enc(demoRun)}/tasks`);
        load = (tis.json?.task_instances || []).find((t) => t.task_id === 'load');
        if (load && load.try_number >= 2 && load.state === 'success') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert(load && load.try_number >= 2 && load.state === 'success', `load ran again: ${JSON.stringify(load)}`);
      await page.locator('table.tis tr[data-task="load"] .badge', { hasText: 'success' }).waitFor();
      await visit(page, hash('dag', DAG, 'run', demoRun, 'task', 'load'));
      await page.locator('.try-tabs a[data-try="2"]').waitFor();
      assert(await page.locator('.try-tabs a').count() >= 2, 'both tries are listed');
    });

    await step('the log of a running task is tailed live, each line once', async () => {
      const made = await api('POST', `/dags/${enc(TAIL)}/runs`, { conf: {} }, TOKEN);
      assert(made.status === 201 && made.json && made.json.run_id, `trigger ${TAIL}: ${made.status} ${made.text}`);
      await visit(page, hash('dag', TAIL, 'run', made.json.run_id, 'task', 'ticker'));
      // Seen while the try still runs: some ticks, not the last, and the state "live".
      const handle = await page.waitForFunction(() => {
        const log = document.querySelector('#log')?.textContent || '';
        const state = document.querySelector('#log-state')?.textContent || '';
        return state === 'live' && log.includes('tick 1') && !log.includes('tick 6') ? log : false;
      }, null, { timeout: RUN_TIMEOUT, polling: 100 });
      const partial = await handle.jsonValue();
      await page.waitForFunction(() => document.querySelector('#log-state')?.textContent.startsWith('complete'),
        null, { timeout: 60000 });
      const log = await page.locator('#log').textContent();
      const ticks = log.split('\n').filter((l) => /^tick \d+$/.test(l));
      assert(JSON.stringify(ticks) === JSON.stringify([1, 2, 3, 4, 5, 6].map((i) => 'tick ' + i)),
        `every tick once and in order (seen live first: ${JSON.stringify(partial)}); the log is ${JSON.stringify(log)}`);
    });

    await step('hostile description, conf and log lines are shown literally and never run', async () => {
      await visit(page, hash('dag', HOSTILE));
      await page.locator('p.description', { hasText: XSS_SCRIPT }).waitFor();
      const desc = await page.locator('p.description').textContent();
      assert(desc.includes(XSS_IMG), 'the description keeps the <img> text');
      const run = await triggerFromUi(page, HOSTILE, JSON.stringify({ msg: XSS_SCRIPT }));
      await waitGridSuccess(page, run, ['shout']);
      await noMarkupInjected(page, 'hostile grid');
      await openTryFromGrid(page, HOSTILE, run, 'shout');
      const log = await page.locator('#log').textContent();
      for (const needle of [XSS_IMG, XSS_SCRIPT, 'conf=' + XSS_SCRIPT]) {
        assert(log.includes(needle), `the log shows ${needle} literally; it is ${JSON.stringify(log)}`);
      }
      await noMarkupInjected(page, 'hostile log');
      await visit(page, hash('dag', HOSTILE, 'run', run));
      await page.locator('#run-conf', { hasText: XSS_SCRIPT }).waitFor();
      await noMarkupInjected(page, 'hostile run page');
      await visit(page, hash('dag', HOSTILE, 'graph'));
      await page.locator('#graph-svg .node').first().waitFor();
      await noMarkupInjected(page, 'hostile graph');
    });

    await step('a mapped task: one grid cell and one graph node with its count, its instances and their outputs', async () => {
      const run = await triggerFromUi(page, MAPPED, '{}');
      await waitGridSuccess(page, run, ['list_files', 'process', 'gather']);
      const cell = page.locator(`#grid a.cell[data-run="${run}"][data-task="process"]`);
      assert(await cell.count() === 1, 'one grid cell for the mapped task');
      assert(await cell.getAttribute('data-count') === '3', 'the cell carries the count of instances');
      assert((await cell.textContent()).trim() === '3', 'the cell shows the count');
      assert((await cell.getAttribute('title')).includes('3 success'), 'the cell says what its instances are');
      await shot(page, 'ui-mapped-grid.png');
      await visit(page, hash('dag', MAPPED, 'graph'));
      const node = page.locator('#graph-svg .node[data-task="process"]');
      await node.waitFor();
      assert(await node.count() === 1, 'one graph node for the mapped task');
      assert(await node.getAttribute('data-count') === '3', 'the node carries the count');
      assert((await node.locator('text.state').textContent()).includes('3 mapped'), 'the node says it is mapped');
      await visit(page, hash('dag', MAPPED, 'run', run));
      await page.locator('tr[data-task="process"][data-map-index="2"]').waitFor();
      const names = await page.locator('tr[data-task="process"] td:nth-child(2) a').allTextContents();
      assert(JSON.stringify(names) === JSON.stringify(['process[0]', 'process[1]', 'process[2]']),
        `the run lists the instances, got ${JSON.stringify(names)}`);
      const gathered = await page.locator('tr[data-task="gather"] td.out-cell').getAttribute('title');
      assert(gathered === '["rows-of-a.csv","rows-of-b.csv","rows-of-c.csv"]',
        `gather's output in the run's table: ${gathered}`);
      await page.locator('tr[data-task="process"][data-map-index="1"] td:nth-child(2) a').click();
      await page.waitForFunction(() => location.hash.includes('/task/process/map/1'));
      await page.locator('#try-output', { hasText: 'rows-of-b.csv' }).waitFor();
      await page.waitForFunction(() => document.querySelector('#log-state')?.textContent.startsWith('complete'),
        null, { timeout: 60000 });
      const log = await page.locator('#log').textContent();
      assert(log.includes('processing b.csv'), `the log of instance 1, got ${JSON.stringify(log)}`);
      assert((await page.locator('h1').textContent()).trim() === 'process[1]', 'the page names the instance');
      await shot(page, 'ui-mapped-try.png');
    });

    await step('the DAG list shows the recent runs as coloured squares', async () => {
      await visit(page, '#/dags');
      const sq = page.locator(`tr[data-dag="${DAG}"] .recent a.sq`).first();
      await sq.waitFor();
      assert(await sq.getAttribute('data-state') === 'success', 'the newest run of the demo DAG is green');
      await page.mouse.move(0, 0);
      await shot(page, 'ui-dags.png');
    });

    await step('no page error, no refusal by the CSP, no request off the scheduler', async () => {
      assert(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
      assert(refusals.length === 0, `refused by the browser: ${refusals.join(' | ')}`);
      assert(foreignRequests.length === 0, `requests to other hosts: ${foreignRequests.join(' ')}`);
      await noMarkupInjected(page, 'the end');
    });
  } catch (e) {
    try {
      await shot(page, 'ui-failure.png');
      console.log('     page at failure: ' + page.url());
    } catch { /* the browser may be gone */ }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
