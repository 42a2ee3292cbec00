/* app.js - swarmflow's web UI: DAG list, DAG grid and graph, runs, task tries and live logs. */
/*
 * Plain browser JavaScript, no framework and no build step. Views are chosen by the URL's hash
 * (#/dags, #/dag/ID, #/dag/ID/graph, #/dag/ID/runs, #/dag/ID/run/RUN,
 * #/dag/ID/run/RUN/task/TASK[/try/N]). Every piece of text that comes from the API is put into
 * the page with text nodes or attribute setters (see h() and svg()), never parsed as HTML.
 */
'use strict';

(function () {
  const API = '/ui/api';
  const TOKEN_KEY = 'swarmflow.apiToken';
  const LEGEND_STATES = ['success', 'running', 'failed', 'up_for_retry', 'upstream_failed',
    'skipped', 'queued', 'scheduled', 'removed', 'none'];
  const KNOWN_STATES = new Set(LEGEND_STATES);
  const TERMINAL_TASK = new Set(['success', 'failed', 'upstream_failed', 'skipped', 'removed']);
  const TERMINAL_TRY = new Set(['success', 'failed', 'upstream_failed', 'skipped', 'removed',
    'up_for_retry']);
  const LIST_POLL_MS = 5000;
  const GRID_POLL_MS = 2000;
  const TASK_POLL_MS = 2000;
  const LOG_POLL_MS = 1000;
  const GRID_RUNS = 25;
  const OK_MESSAGE_MS = 8000;
  const RUNS_PAGE = 25;

  // ------------------------------------------------------------------ DOM helpers

  const SVG_NS = 'http://www.w3.org/2000/svg';

  // h(tag, attrs, ...children): a new element. Strings among the children become text nodes;
  // attrs: 'class', 'text' (textContent), 'value'/'checked' (properties), 'onX' (listeners),
  // anything else through setAttribute. Nothing here ever parses markup.
  function h(tag, attrs, ...kids) {
    return build(document.createElement(tag), attrs, kids);
  }

  function svg(tag, attrs, ...kids) {
    return build(document.createElementNS(SVG_NS, tag), attrs, kids);
  }

  function build(el, attrs, kids) {
    if (attrs) {
      for (const [key, val] of Object.entries(attrs)) {
        if (val === undefined || val === null || val === false) continue;
        if (key === 'text') el.textContent = String(val);
        else if (key === 'value' || key === 'checked') el[key] = val;
        else if (key.startsWith('on') && typeof val === 'function') {
          el.addEventListener(key.slice(2), val);
        } else el.setAttribute(key, val === true ? '' : String(val));
      }
    }
    appendKids(el, kids);
    return el;
  }

  function appendKids(el, kids) {
    for (const kid of kids) {
      if (kid === undefined || kid === null || kid === false) continue;
      if (Array.isArray(kid)) appendKids(el, kid);
      else if (kid instanceof Node) el.appendChild(kid);
      else el.appendChild(document.createTextNode(String(kid)));
    }
  }

  // href('dag', id, 'run', run): a hash link with every part percent-encoded.
  function href(...parts) {
    return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  }

  // A task instance's name: "task", or "task[3]" for instance 3 of a mapped task.
  function tiName(taskId, mapIndex) {
    return mapIndex != null && mapIndex >= 0 ? `${taskId}[${mapIndex}]` : String(taskId);
  }

  // The link parts of a task instance (after run/RUN): task/T, or task/T/map/M.
  function tiParts(taskId, mapIndex) {
    return mapIndex != null && mapIndex >= 0 ? ['task', taskId, 'map', mapIndex] : ['task', taskId];
  }

  // "?map_index=M" (or "&...") for the UI API's task routes of a mapped instance; "" otherwise.
  function mapQuery(mapIndex, sep) {
    return mapIndex != null && mapIndex >= 0 ? `${sep || '?'}map_index=${mapIndex}` : '';
  }

  // A grid run's count of the instances of a mapped task, or null.
  function mappedOf(run, tid) {
    const m = run && run.mapped && Object.prototype.hasOwnProperty.call(run.mapped, tid) ? run.mapped[tid] : null;
    return m && typeof m.count === 'number' ? m : null;
  }

  // "3 success, 2 running": what a mapped task's instances are.
  function mappedText(m) {
    return Object.entries(m.states || {}).map(([k, v]) => `${v} ${k}`).join(', ');
  }

  function stateOf(s) {
    return typeof s === 'string' && KNOWN_STATES.has(s) ? s : 'none';
  }

  function stateClass(s) {
    return 'st-' + stateOf(s);
  }

  function badge(state) {
    const s = state == null || state === '' ? 'none' : String(state);
    return h('span', { class: 'badge ' + stateClass(s), text: s });
  }

  function fmtDate(v) {
    if (v === null || v === undefined || v === '') return '—';
    if (typeof v === 'number') {
      const ms = v > 1e12 ? v : v * 1000;
      return fmtDate(new Date(ms).toISOString());
    }
    const s = String(v);
    const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(\.\d+)?(Z|[+-]00:?00)?$/.exec(s);
    return m ? m[1] + ' ' + m[2] : s;
  }

  // The short forms of the grid's column heads: "11-21 18:30", or with the seconds
  // ("11-21 18:30:05") when two runs of the grid would read the same.
  function shortDates(values) {
    const parts = values.map((v) => /^\d{4}-(\d\d-\d\d) (\d\d:\d\d)(:\d\d)?/.exec(fmtDate(v)));
    const short = parts.map((m, i) => (m ? m[1] + ' ' + m[2] : fmtDate(values[i])));
    if (new Set(short).size === short.length) return short;
    return parts.map((m, i) => (m ? m[1] + ' ' + m[2] + (m[3] || '') : fmtDate(values[i])));
  }

  function toEpochMs(v) {
    if (v === null || v === undefined || v === '') return NaN;
    if (typeof v === 'number') return v > 1e12 ? v : v * 1000;
    return Date.parse(String(v));
  }

  function fmtDuration(sec, start, end) {
    let d = typeof sec === 'number' ? sec : (typeof sec === 'string' && sec !== '' ? Number(sec) : NaN);
    if (!Number.isFinite(d)) {
      const a = toEpochMs(start);
      const b = end ? toEpochMs(end) : NaN;
      if (!Number.isFinite(a) || !Number.isFinite(b)) return '—';
      d = (b - a) / 1000;
    }
    if (d < 0) d = 0;
    if (d < 10) return d.toFixed(1) + 's';
    if (d < 60) return Math.round(d) + 's';
    const s = Math.round(d);
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return hh > 0 ? `${hh}h ${String(mm).padStart(2, '0')}m ${ss}s` : `${mm}m ${ss}s`;
  }

  function fmtJson(v, pretty) {
    if (v === null || v === undefined) return '';
    let obj = v;
    if (typeof v === 'string') {
      try { obj = JSON.parse(v); } catch (e) { return v; }
    }
    try {
      return JSON.stringify(obj, null, pretty ? 2 : 0);
    } catch (e) {
      return String(v);
    }
  }

  function orDash(v) {
    return v === null || v === undefined || v === '' ? '—' : String(v);
  }

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function token() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function apiPath(...parts) {
    return API + '/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  }

  // api(method, path, body): the parsed JSON answer; throws ApiError with the server's
  // {"error": "..."} text (or the HTTP status) on anything but a 2xx.
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const tok = token();
    if (tok && method !== 'GET') headers.Authorization = 'Bearer ' + tok;
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'cannot reach the scheduler (' + e.message + ')');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      let msg = data && typeof data.error === 'string' ? data.error : '';
      if (!msg) msg = text && text.length < 300 ? text : res.statusText || 'request failed';
      throw new ApiError(res.status, msg);
    }
    return data;
  }

  // The text shown for a failed call; 401 and 403 point at the token field.
  function errorText(err) {
    if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
    if (err.status === 401 || err.status === 403) {
      markToken(true);
      return `${err.message} (HTTP ${err.status}: set the API token at the top right)`;
    }
    return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  }

  // ------------------------------------------------------------------ messages and token

  const flashBox = document.getElementById('flash');

  function flash(text, kind) {
    const box = h('div', { class: 'msg ' + (kind || 'error') },
      h('span', { class: 'msg-text', text }),
      h('button', { type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss', onclick: () => box.remove() }, '×'));
    flashBox.appendChild(box);
    while (flashBox.children.length > 4) flashBox.firstChild.remove();
    if (kind === 'ok') setTimeout(() => box.remove(), OK_MESSAGE_MS);
    return box;
  }

  function clearFlash() {
    flashBox.replaceChildren();
  }

  const tokenInput = document.getElementById('token-input');
  const tokenState = document.getElementById('token-state');

  function markToken(bad) {
    tokenInput.classList.toggle('attention', !!bad);
  }

  function showTokenState() {
    const set = token() !== '';
    tokenState.textContent = set ? 'token set' : 'no token';
    tokenState.classList.toggle('set', set);
  }

  document.getElementById('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = tokenInput.value.trim();
    try {
      if (v) localStorage.setItem(TOKEN_KEY, v);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      flash('cannot store the token: ' + e.message);
    }
    markToken(false);
    showTokenState();
  });
  tokenInput.value = token();
  showTokenState();

  // ------------------------------------------------------------------ views and routing

  // One View per shown page: its timers and listeners die with it when the hash changes.
  class View {
    constructor(root) {
      this.root = root;
      this.alive = true;
      this.timers = new Set();
      this.events = new EventTarget();
    }

    // loop(ms, fn): run fn now, then ms after each run ends, while the view lives and fn does
    // not return false. Returns { kick() }: run it again at once (restarting it if it stopped).
    loop(ms, fn) {
      const ctl = { timer: null, running: false, again: false };
      const schedule = (delay) => {
        if (ctl.timer !== null) {
          clearTimeout(ctl.timer);
          this.timers.delete(ctl.timer);
        }
        const id = setTimeout(() => {
          this.timers.delete(id);
          ctl.timer = null;
          tick();
        }, delay);
        ctl.timer = id;
        this.timers.add(id);
      };
      const tick = async () => {
        if (!this.alive) return;
        if (ctl.running) {
          ctl.again = true;
          return;
        }
        ctl.running = true;
        let more = true;
        try {
          more = (await fn()) !== false;
        } catch (e) {
          more = true;
        }
        ctl.running = false;
        if (!this.alive) return;
        if (ctl.again) {
          ctl.again = false;
          schedule(0);
        } else if (more) schedule(ms);
      };
      ctl.kick = () => schedule(0);
      schedule(0);
      return ctl;
    }

    on(name, fn) {
      this.events.addEventListener(name, fn);
    }

    emit(name) {
      this.events.dispatchEvent(new Event(name));
    }

    stop() {
      this.alive = false;
      for (const id of this.timers) clearTimeout(id);
      this.timers.clear();
    }
  }

  const app = document.getElementById('app');
  let current = null;

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '').replace(/\/+$/, '');
    if (raw === '') return [];
    return raw.split('/').map((p) => {
      try { return decodeURIComponent(p); } catch (e) { return p; }
    });
  }

  function route() {
    if (current) current.stop();
    clearFlash();
    app.replaceChildren();
    const view = new View(app);
    current = view;
    const p = parseHash();
    window.scrollTo(0, 0);
    if (p.length === 0 || (p.length === 1 && p[0] === 'dags')) return dagListView(view);
    if (p[0] === 'dag' && p.length >= 2) {
      const dag = p[1];
      if (p.length === 2) return dagView(view, dag, 'grid');
      if (p.length === 3 && (p[2] === 'graph' || p[2] === 'runs' || p[2] === 'grid')) {
        return dagView(view, dag, p[2]);
      }
      if (p[2] === 'run' && p.length === 4) return runView(view, dag, p[3]);
      if (p[2] === 'run' && p[4] === 'task' && p.length >= 6) {
        // task/T, task/T/try/N, and a mapped task's instance: task/T/map/M[/try/N]
        let rest = p.slice(6);
        let mapIndex = null;
        if (rest[0] === 'map' && rest.length >= 2) {
          const m = Number.parseInt(rest[1], 10);
          if (!Number.isFinite(m) || m < 0) rest = ['bad'];
          else mapIndex = m;
          rest = rest[0] === 'bad' ? rest : rest.slice(2);
        }
        if (rest.length === 0) return taskView(view, dag, p[3], p[5], null, mapIndex);
        if (rest[0] === 'try' && rest.length === 2) {
          const n = Number.parseInt(rest[1], 10);
          return taskView(view, dag, p[3], p[5], Number.isFinite(n) && n > 0 ? n : null, mapIndex);
        }
      }
    }
    app.appendChild(h('div', { class: 'card' }, h('h1', { text: 'Not found' }),
      h('p', {}, 'There is no such page. ', h('a', { href: '#/dags' }, 'Back to the DAGs'))));
    return undefined;
  }

  function crumbs(...items) {
    const nav = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' });
    items.forEach((it, i) => {
      if (i > 0) nav.appendChild(h('span', { class: 'sep', 'aria-hidden': 'true' }, '›'));
      nav.appendChild(it[1] ? h('a', { href: it[1] }, it[0]) : h('span', {}, it[0]));
    });
    return nav;
  }

  function legend() {
    return h('div', { class: 'legend' }, LEGEND_STATES.map((s) =>
      h('span', {}, h('span', { class: 'sq ' + stateClass(s) }), s)));
  }

  // A paused/active switch; on means active, as in Airflow. A click PATCHes the DAG; the switch
  // goes back (and says why) when the server refuses; onDone(paused) runs when it agreed.
  function pauseSwitch(dagId, paused, onDone) {
    const label = h('span', { class: 'paused-label', text: paused ? 'paused' : 'active' });
    const input = h('input', {
      type: 'checkbox', role: 'switch', checked: !paused, 'data-dag': dagId,
      'aria-label': 'Active (unpaused): ' + dagId, title: paused ? 'Paused: click to unpause' : 'Active: click to pause',
    });
    input.addEventListener('change', async () => {
      const wantPaused = !input.checked;
      input.disabled = true;
      try {
        await api('PATCH', apiPath('dags', dagId), { paused: wantPaused });
        label.textContent = wantPaused ? 'paused' : 'active';
        input.title = wantPaused ? 'Paused: click to unpause' : 'Active: click to pause';
        if (onDone) onDone(wantPaused);
      } catch (e) {
        input.checked = !input.checked;
        flash(`Could not ${wantPaused ? 'pause' : 'unpause'} ${dagId}: ${errorText(e)}`);
      } finally {
        input.disabled = false;
      }
    });
    return h('span', { class: 'nowrap pause-control' },
      h('label', { class: 'switch' }, input, h('span', { class: 'slider' })), label);
  }

  // ------------------------------------------------------------------ DAG list

  function dagListView(view) {
    const filter = h('input', { type: 'search', placeholder: 'Filter by DAG id or tag', 'aria-label': 'Filter DAGs' });
    const summary = h('span', { class: 'muted' });
    const status = h('div', { class: 'status-line' });
    const body = h('div', { id: 'dag-list' });
    view.root.append(
      h('div', { class: 'page-head' }, h('h1', { text: 'DAGs' }), summary),
      h('div', { class: 'filter-row' }, filter),
      body, status);
    let last = null;
    let lastText = '';
    const render = () => {
      if (last) renderDagList(body, summary, last, filter.value.trim().toLowerCase());
    };
    filter.addEventListener('input', render);
    view.loop(LIST_POLL_MS, async () => {
      try {
        const data = await api('GET', apiPath('dags'));
        status.textContent = '';
        status.classList.remove('error');
        const text = JSON.stringify(data);
        if (text !== lastText && view.alive) {
          lastText = text;
          last = data || {};
          const focused = document.activeElement;
          const focusDag = focused && body.contains(focused) ? focused.getAttribute('data-dag') : null;
          render();
          if (focusDag !== null) {
            const again = [...body.querySelectorAll('input[data-dag]')].find((el) => el.getAttribute('data-dag') === focusDag);
            if (again) again.focus();
          }
        }
      } catch (e) {
        status.textContent = 'Could not load the DAGs: ' + errorText(e);
        status.classList.add('error');
      }
    });
  }

  function renderDagList(body, summary, data, q) {
    const dags = Array.isArray(data.dags) ? data.dags : [];
    const errors = Array.isArray(data.import_errors) ? data.import_errors : [];
    const paused = dags.filter((d) => d.paused).length;
    summary.textContent = `${dags.length} DAG${dags.length === 1 ? '' : 's'}, ${paused} paused` +
      (errors.length ? `, ${errors.length} import error${errors.length === 1 ? '' : 's'}` : '');
    const shown = dags.filter((d) => !q || String(d.dag_id).toLowerCase().includes(q) ||
      (Array.isArray(d.tags) && d.tags.some((t) => String(t).toLowerCase().includes(q))));
    const parts = [];
    if (errors.length) {
      parts.push(h('section', { class: 'card import-errors', id: 'import-errors' },
        h('h2', { text: `Import errors (${errors.length})` }),
        h('ul', {}, errors.map((e) => h('li', { class: 'import-error' },
          h('span', { class: 'where', text: e.line ? `${e.file}:${e.line}` : String(e.file) }),
          ': ', String(e.message == null ? '' : e.message))))));
    }
    const rows = shown.map((d) => h('tr', { class: d.paused ? 'paused-row' : '', 'data-dag': d.dag_id },
      h('td', {}, pauseSwitch(d.dag_id, !!d.paused, (p) => { d.paused = p; })),
      h('td', { class: 'dag-id' }, h('a', { href: href('dag', d.dag_id) }, d.dag_id)),
      h('td', { class: 'desc' }, d.description || ''),
      h('td', { class: 'nowrap mono' }, orDash(d.schedule)),
      h('td', {}, (Array.isArray(d.tags) ? d.tags : []).map((t) => h('span', { class: 'tag', text: t }))),
      h('td', { class: 'num' }, d.n_tasks == null ? '' : String(d.n_tasks)),
      h('td', {}, recentRuns(d))));
    const table = h('table', { class: 'list dags' },
      h('thead', {}, h('tr', {}, h('th', { title: 'On: active; off: paused' }, 'Active'), h('th', {}, 'DAG'),
        h('th', {}, 'Description'), h('th', {}, 'Schedule'), h('th', {}, 'Tags'), h('th', {}, 'Tasks'),
        h('th', {}, 'Recent runs'))),
      h('tbody', {}, rows));
    parts.push(h('div', { class: 'card table-card' }, h('div', { class: 'table-scroll' }, table),
      shown.length ? null : h('p', { class: 'empty', text: dags.length ? 'No DAG matches the filter.' : 'No DAG in the dags folder yet.' })));
    body.replaceChildren(...parts);
  }

  function recentRuns(d) {
    const runs = Array.isArray(d.recent_runs) ? d.recent_runs : [];
    if (!runs.length) return h('span', { class: 'muted', text: 'no runs' });
    return h('span', { class: 'recent' }, runs.map((r) => h('a', {
      class: 'sq ' + stateClass(r.state), href: href('dag', d.dag_id, 'run', r.run_id),
      title: `${r.run_id}: ${orDash(r.state)} (${fmtDate(r.logical_date)})`,
      'data-state': stateOf(r.state), 'aria-label': `run ${r.run_id}: ${orDash(r.state)}`,
    })));
  }

  // ------------------------------------------------------------------ DAG page

  function dagView(view, dagId, tab) {
    const head = h('div', { class: 'page-head' }, h('h1', { text: dagId }));
    const sub = h('div', { class: 'page-sub' });
    const desc = h('p', { class: 'description' });
    const triggerBtn = h('button', { type: 'button', class: 'primary', id: 'trigger-open' }, 'Trigger');
    const panel = triggerPanel(view, dagId, () => panel.hidden = true);
    panel.hidden = true;
    triggerBtn.addEventListener('click', () => {
      panel.hidden = !panel.hidden;
      if (!panel.hidden) panel.querySelector('textarea').focus();
    });
    const tabs = h('nav', { class: 'tabs' },
      [['grid', 'Grid'], ['graph', 'Graph'], ['runs', 'Runs']].map(([k, label]) =>
        h('a', { href: k === 'grid' ? href('dag', dagId) : href('dag', dagId, k), class: k === tab ? 'active' : '', 'data-tab': k }, label)),
      h('span', { class: 'spacer' }), tab === 'runs' ? null : legend());
    const content = h('div', { class: 'tab-content' });
    const status = h('div', { class: 'status-line' });
    view.root.append(crumbs(['DAGs', '#/dags'], [dagId]), head, desc, sub, panel, tabs, content, status);

    const state = { dag: null };
    api('GET', apiPath('dags', dagId)).then((dag) => {
      if (!view.alive) return;
      state.dag = dag || {};
      head.append(pauseSwitch(dagId, !!state.dag.paused), h('span', { class: 'spacer' }), triggerBtn);
      desc.textContent = state.dag.description || '';
      const tags = Array.isArray(state.dag.tags) ? state.dag.tags : [];
      const tasks = Array.isArray(state.dag.tasks) ? state.dag.tasks : [];
      // replaceChildren() writes a null as the text "null": only the parts there are.
      sub.replaceChildren(...[
        h('span', {}, 'schedule ', h('code', { text: orDash(state.dag.schedule) })),
        h('span', { text: `${tasks.length} task${tasks.length === 1 ? '' : 's'}` }),
        state.dag.file ? h('span', {}, 'file ', h('code', { text: state.dag.file })) : null,
        tags.length ? h('span', {}, tags.map((t) => h('span', { class: 'tag', text: t }))) : null,
      ].filter(Boolean));
      if (tab === 'graph') graphTab(view, dagId, state.dag, content, status);
      else if (tab === 'runs') runsTab(view, dagId, content, status);
      else gridTab(view, dagId, state.dag, content, status);
    }).catch((e) => {
      if (!view.alive) return;
      content.replaceChildren(h('div', { class: 'card' }, h('p', { class: 'form-error', text: `Could not load DAG ${dagId}: ${errorText(e)}` })));
    });
  }

  function parseConf(text) {
    const t = text.trim();
    if (t === '') return { conf: {} };
    let v;
    try {
      v = JSON.parse(t);
    } catch (e) {
      return { error: 'The conf is not valid JSON: ' + e.message };
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return { error: 'The conf must be a JSON object, like {"key": "value"}.' };
    }
    return { conf: v };
  }

  function triggerPanel(view, dagId, close) {
    const area = h('textarea', { id: 'trigger-conf', spellcheck: 'false', placeholder: '{"key": "value"}', 'aria-label': 'Run configuration (JSON)' });
    const err = h('p', { class: 'form-error', id: 'trigger-error', role: 'alert' });
    const go = h('button', { type: 'submit', class: 'primary', id: 'trigger-submit' }, 'Trigger run');
    const form = h('form', { class: 'card trigger-panel', id: 'trigger-panel' },
      h('label', { for: 'trigger-conf' }, 'Run configuration (JSON object, optional)'),
      area,
      h('div', { class: 'row' }, go, h('button', { type: 'button', onclick: close }, 'Cancel')),
      err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const parsed = parseConf(area.value);
      if (parsed.error) {
        err.textContent = parsed.error;
        return;
      }
      go.disabled = true;
      try {
        const run = await api('POST', apiPath('dags', dagId, 'runs'), { conf: parsed.conf });
        if (!view.alive) return;
        const runId = run && run.run_id ? String(run.run_id) : '';
        const box = flash(runId ? `Run ${runId} queued.` : 'Run queued.', 'ok');
        box.setAttribute('id', 'trigger-ok');
        area.value = '';
        close();
        view.emit('refresh');
      } catch (e) {
        err.textContent = 'Trigger failed: ' + errorText(e);
      } finally {
        go.disabled = false;
      }
    });
    return form;
  }

  function gridTab(view, dagId, dag, content, status) {
    const gridBox = h('div', { class: 'grid-scroll', id: 'grid' });
    const tasks = Array.isArray(dag.tasks) ? dag.tasks : [];
    content.append(h('div', { class: 'dag-layout' },
      h('div', { class: 'card grid-card' }, gridBox),
      h('div', { class: 'card side-card' }, h('h2', { text: 'Tasks' }), h('div', { class: 'table-scroll' }, taskTable(tasks)))));
    let lastText = '';
    const load = async () => {
      try {
        const grid = await api('GET', apiPath('dags', dagId, 'grid') + '?limit=' + GRID_RUNS);
        status.textContent = '';
        status.classList.remove('error');
        const text = JSON.stringify(grid);
        if (text !== lastText && view.alive) {
          lastText = text;
          renderGrid(gridBox, dagId, grid || {}, tasks);
        }
      } catch (e) {
        status.textContent = 'Could not load the grid: ' + errorText(e);
        status.classList.add('error');
      }
    };
    const ctl = view.loop(GRID_POLL_MS, load);
    view.on('refresh', () => ctl.kick());
  }

  // What a task does with data, as tags: mapped, branch, short circuit, output.
  function taskKinds(t) {
    return [t.mapped && 'mapped', t.branch && 'branch', t.short_circuit && 'short circuit',
      t.output && !t.branch && !t.short_circuit && 'output: ' + t.output].filter(Boolean);
  }

  function taskTable(tasks) {
    if (!tasks.length) return h('p', { class: 'empty', text: 'This DAG has no tasks.' });
    return h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Upstream'), h('th', {}, 'Rule'), h('th', {}, 'Retries'))),
      h('tbody', {}, tasks.map((t) => h('tr', {},
        h('td', {}, h('div', {}, String(t.task_id), taskKinds(t).map((k) => h('span', { class: 'task-kind', text: k }))),
          t.image ? h('div', { class: 'image', text: t.image }) : null),
        h('td', { text: (Array.isArray(t.upstream) ? t.upstream : []).join(', ') || '—' }),
        h('td', { class: 'mono', text: t.trigger_rule || 'all_success' }),
        h('td', { text: t.retries == null ? '0' : String(t.retries) })))));
  }

  function renderGrid(box, dagId, grid, dagTasks) {
    let taskIds = Array.isArray(grid.tasks) ? grid.tasks.map(String) : [];
    if (!taskIds.length) taskIds = dagTasks.map((t) => String(t.task_id));
    const runs = (Array.isArray(grid.runs) ? grid.runs : []).slice().reverse(); // oldest left
    if (!runs.length) {
      box.replaceChildren(h('p', { class: 'empty', text: 'No runs yet: use Trigger to start one.' }));
      return;
    }
    const dates = shortDates(runs.map((r) => r.logical_date));
    const headRow = h('tr', {}, h('th', { class: 'corner', text: 'task \\ run' }),
      runs.map((r, i) => h('th', { class: 'run-head' + (i === runs.length - 1 ? ' newest' : ''), scope: 'col' },
        h('a', { href: href('dag', dagId, 'run', r.run_id), title: `${r.run_id}\n${orDash(r.state)}, logical date ${fmtDate(r.logical_date)}` },
          h('span', { class: 'run-date', text: dates[i] }),
          h('span', { class: 'run-bar ' + stateClass(r.state), 'data-run': r.run_id, 'data-state': stateOf(r.state) })))));
    const rows = taskIds.map((tid) => h('tr', { 'data-task': tid },
      h('th', { class: 'task-name', scope: 'row', title: tid }, tid),
      runs.map((r) => {
        const st = r.tasks && Object.prototype.hasOwnProperty.call(r.tasks, tid) ? r.tasks[tid] : null;
        const m = mappedOf(r, tid);
        const what = (st == null ? 'none' : st) + (m ? ` (mapped: ${m.count} instances, ${mappedText(m)})` : '');
        // A mapped task is one cell with its count; it opens the run, which lists the instances.
        return h('td', {}, h('a', {
          class: 'cell ' + stateClass(st) + (m ? ' mapped' : ''),
          href: m ? href('dag', dagId, 'run', r.run_id) : href('dag', dagId, 'run', r.run_id, 'task', tid),
          title: `${tid}\n${r.run_id}\n${what}`,
          'data-run': r.run_id, 'data-task': tid, 'data-state': stateOf(st),
          'data-count': m ? m.count : null,
          'aria-label': `${tid} in ${r.run_id}: ${what}`,
        }, m ? h('span', { class: 'map-count', text: String(m.count) }) : null));
      })));
    box.replaceChildren(h('table', { class: 'grid' }, h('thead', {}, headRow), h('tbody', {}, rows)));
  }

  // ------------------------------------------------------------------ the graph

  // layoutGraph(tasks): layers by the longest path from a root; an edge that spans several
  // layers gets a virtual node in each layer it crosses (so that it can bend around the boxes);
  // then the nodes of each layer are ordered by the mean position of their neighbours (a few
  // sweeps down and up), which keeps crossings few.
  function layoutGraph(tasks) {
    const ids = tasks.map((t) => String(t.task_id));
    const known = new Set(ids);
    const ups = new Map(tasks.map((t) => [String(t.task_id),
      (Array.isArray(t.upstream) ? t.upstream : []).map(String).filter((u) => known.has(u))]));
    const layer = new Map();
    const visiting = new Set();
    const depth = (id) => {
      if (layer.has(id)) return layer.get(id);
      if (visiting.has(id)) return 0; // a cycle: the validator refuses those; do not loop
      visiting.add(id);
      let d = 0;
      for (const u of ups.get(id)) d = Math.max(d, depth(u) + 1);
      visiting.delete(id);
      layer.set(id, d);
      return d;
    };
    ids.forEach(depth);
    // Nodes are numbers: 0..n-1 the tasks, n.. the virtual ones.
    const nodeLayer = ids.map((id) => layer.get(id));
    const preds = ids.map(() => []);
    const succs = ids.map(() => []);
    const index = new Map(ids.map((id, i) => [id, i]));
    const edges = [];
    ids.forEach((id, to) => {
      for (const u of ups.get(id)) {
        const from = index.get(u);
        const via = [];
        let prev = from;
        for (let l = nodeLayer[from] + 1; l < nodeLayer[to]; l++) {
          const v = nodeLayer.length;
          nodeLayer.push(l);
          preds.push([prev]);
          succs.push([]);
          succs[prev].push(v);
          via.push(v);
          prev = v;
        }
        preds[to].push(prev);
        succs[prev].push(to);
        edges.push({ from, to, via });
      }
    });
    const nLayers = nodeLayer.length ? Math.max(...nodeLayer) + 1 : 0;
    const layers = Array.from({ length: nLayers }, () => []);
    nodeLayer.forEach((l, n) => layers[l].push(n));
    const pos = new Map();
    const place = (l) => l.forEach((n, i) => pos.set(n, (i + 0.5) / l.length));
    layers.forEach(place);
    const mean = (list, fallback) => (list.length ? list.reduce((a, x) => a + pos.get(x), 0) / list.length : fallback);
    for (let sweep = 0; sweep < 6; sweep++) {
      const down = sweep % 2 === 0;
      const order = down ? layers.slice(1) : layers.slice(0, -1).reverse();
      for (const l of order) {
        const key = new Map(l.map((n) => [n, mean(down ? preds[n] : succs[n], pos.get(n))]));
        l.sort((x, y) => key.get(x) - key.get(y));
        place(l);
      }
    }
    return { ids, layers, edges, isTask: (n) => n < ids.length };
  }

  const measureCtx = document.createElement('canvas').getContext('2d');

  function textWidth(text, font) {
    if (!measureCtx) return text.length * 7.5;
    measureCtx.font = font;
    return measureCtx.measureText(text).width;
  }

  function clip(text, max) {
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  function drawGraph(dagId, tasks, latest) {
    const { ids, layers, edges, isTask } = layoutGraph(tasks);
    const taskOf = new Map(tasks.map((t) => [String(t.task_id), t]));
    const NODE_H = 46;
    const VIRTUAL_H = 12;
    const GAP_X = 70;
    const GAP_Y = 18;
    const PAD = 12;
    const font = '600 13px ' + getComputedStyle(document.body).fontFamily;
    const width = (n) => (isTask(n) ? Math.min(260, Math.max(120, textWidth(clip(ids[n], 32), font) + 28)) : 0);
    const height = (n) => (isTask(n) ? NODE_H : VIRTUAL_H);
    const colW = layers.map((l) => Math.max(0, ...l.map(width)));
    const colH = layers.map((l) => l.reduce((a, n) => a + height(n), 0) + (l.length - 1) * GAP_Y);
    const totalH = Math.max(NODE_H, ...colH) + 2 * PAD;
    const totalW = colW.reduce((a, w) => a + w, 0) + GAP_X * Math.max(0, layers.length - 1) + 2 * PAD;
    const box = new Map(); // node -> {x, y, w, cy, col: [left, right] of its column}
    let x = PAD;
    layers.forEach((l, li) => {
      let y = PAD + (totalH - 2 * PAD - colH[li]) / 2;
      for (const n of l) {
        const w = width(n);
        box.set(n, { x: x + (colW[li] - w) / 2, y, w, cy: y + height(n) / 2, left: x, right: x + colW[li] });
        y += height(n) + GAP_Y;
      }
      x += colW[li] + GAP_X;
    });
    const W = Math.ceil(totalW);
    const H = Math.ceil(totalH);
    const root = svg('svg', { class: 'graph', id: 'graph-svg', width: W, height: H, viewBox: `0 0 ${W} ${H}`,
      role: 'img', 'aria-label': `Dependencies of ${dagId}` });
    root.appendChild(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5',
      markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, svg('path', { class: 'arrow', d: 'M0,0 L10,5 L0,10 z' }))));
    const curve = (x1, y1, x2, y2) => {
      const dx = Math.max(20, (x2 - x1) / 2);
      return ` C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
    };
    const edgeGroup = svg('g', { class: 'edges' });
    for (const e of edges) {
      const a = box.get(e.from);
      const b = box.get(e.to);
      let px = a.x + a.w;
      let py = a.cy;
      let d = `M${px},${py}`;
      for (const v of e.via) { // across the column of each virtual node, at its height
        const c = box.get(v);
        d += curve(px, py, c.left, c.cy) + ` L${c.right},${c.cy}`;
        px = c.right;
        py = c.cy;
      }
      d += curve(px, py, b.x - 2, b.cy);
      edgeGroup.appendChild(svg('path', { class: 'edge', 'data-from': ids[e.from], 'data-to': ids[e.to], 'marker-end': 'url(#arrow)', d }));
    }
    root.appendChild(edgeGroup);
    const nodes = svg('g', { class: 'nodes' });
    ids.forEach((id, n) => {
      const b = box.get(n);
      const st = latest && latest.tasks && Object.prototype.hasOwnProperty.call(latest.tasks, id) ? latest.tasks[id] : null;
      const m = mappedOf(latest, id);
      const isMapped = !!(m || (taskOf.get(id) && taskOf.get(id).mapped));
      const stText = (latest ? (st == null ? 'none' : String(st)) : 'no run yet') + (m ? ` · ${m.count} mapped` : (isMapped ? ' · mapped' : ''));
      nodes.appendChild(svg(latest ? 'a' : 'g', {
        class: 'node ' + stateClass(st) + (isMapped ? ' mapped' : ''), 'data-task': id, 'data-state': stateOf(st),
        'data-count': m ? m.count : null,
        href: latest ? (m ? href('dag', dagId, 'run', latest.run_id) : href('dag', dagId, 'run', latest.run_id, 'task', id)) : null,
      },
      svg('title', { text: `${id}: ${stText}` + (m ? `\n${mappedText(m)}` : '') }),
      svg('rect', { x: b.x, y: b.y, width: b.w, height: NODE_H, rx: 6, ry: 6 }),
      svg('text', { class: 'name', x: b.x + b.w / 2, y: b.y + 20, 'text-anchor': 'middle', text: clip(id, 32) }),
      svg('text', { class: 'state', x: b.x + b.w / 2, y: b.y + 36, 'text-anchor': 'middle', text: stText })));
    });
    root.appendChild(nodes);
    return root;
  }

  // The graph is coloured by one run: the one picked, else the newest that has started.
  function graphTab(view, dagId, dag, content, status) {
    const tasks = Array.isArray(dag.tasks) ? dag.tasks : [];
    const picker = h('select', { id: 'graph-run', 'aria-label': 'Run shown in the graph' });
    const caption = h('div', { class: 'graph-caption' });
    const holder = h('div', { class: 'graph-scroll', id: 'graph' });
    content.append(h('div', { class: 'card' }, caption, holder));
    if (!tasks.length) {
      holder.replaceChildren(h('p', { class: 'empty', text: 'This DAG has no tasks.' }));
      return;
    }
    let picked = null; // a run id the user chose, or null for the default
    let runs = [];
    let lastText = null;
    const render = () => {
      const started = runs.find((r) => r.state !== 'queued');
      const run = runs.find((r) => r.run_id === picked) || started || runs[0] || null;
      const text = JSON.stringify([run, runs.map((r) => [r.run_id, r.state])]);
      if (text === lastText) return;
      lastText = text;
      picker.replaceChildren(...runs.map((r) => h('option', {
        value: r.run_id, text: `${r.run_id} (${orDash(r.state)})`,
      })));
      if (run) picker.value = run.run_id;
      caption.replaceChildren(run
        ? h('span', { class: 'graph-pick' }, h('label', { for: 'graph-run' }, 'Coloured by the run '), picker, ' ',
          h('a', { href: href('dag', dagId, 'run', run.run_id) }, 'open the run'))
        : h('span', { text: 'No run yet: the boxes show the dependencies only.' }));
      holder.replaceChildren(drawGraph(dagId, tasks, run));
    };
    picker.addEventListener('change', () => {
      picked = picker.value;
      render();
    });
    const ctl = view.loop(GRID_POLL_MS, async () => {
      try {
        const grid = await api('GET', apiPath('dags', dagId, 'grid') + '?limit=' + GRID_RUNS);
        status.textContent = '';
        status.classList.remove('error');
        runs = grid && Array.isArray(grid.runs) ? grid.runs : [];
      } catch (e) {
        status.textContent = 'Could not load the runs: ' + errorText(e);
        status.classList.add('error');
      }
      if (view.alive) render();
    });
    view.on('refresh', () => ctl.kick());
  }

  // ------------------------------------------------------------------ runs list

  function runsTab(view, dagId, content, status) {
    const sel = h('select', { 'aria-label': 'Run state' },
      ['', 'queued', 'running', 'success', 'failed'].map((s) => h('option', { value: s, text: s || 'any state' })));
    const tableBox = h('div', { class: 'table-scroll' });
    const pager = h('div', { class: 'pager' });
    content.append(h('div', { class: 'filter-row' }, h('label', { class: 'check' }, 'State ', sel)),
      h('div', { class: 'card table-card' }, tableBox, pager));
    let offset = 0;
    let lastText = '';
    const load = async () => {
      const q = new URLSearchParams({ limit: String(RUNS_PAGE), offset: String(offset) });
      if (sel.value) q.set('state', sel.value);
      try {
        const data = await api('GET', apiPath('dags', dagId, 'runs') + '?' + q.toString());
        status.textContent = '';
        const text = JSON.stringify(data) + q.toString();
        if (text === lastText || !view.alive) return;
        lastText = text;
        renderRuns(tableBox, pager, dagId, data || {}, offset, (o) => { offset = o; ctl.kick(); });
      } catch (e) {
        status.textContent = 'Could not load the runs: ' + errorText(e);
        status.classList.add('error');
      }
    };
    const ctl = view.loop(LIST_POLL_MS, load);
    sel.addEventListener('change', () => { offset = 0; ctl.kick(); });
    view.on('refresh', () => ctl.kick());
  }

  function renderRuns(box, pager, dagId, data, offset, go) {
    const runs = Array.isArray(data.runs) ? data.runs : [];
    const total = typeof data.total === 'number' ? data.total : runs.length;
    if (!runs.length) {
      box.replaceChildren(h('p', { class: 'empty', text: 'No runs.' }));
    } else {
      box.replaceChildren(h('table', { class: 'list runs' },
        h('thead', {}, h('tr', {}, ['Run', 'Type', 'State', 'Logical date', 'Started', 'Ended', 'Duration', 'Conf'].map((c) => h('th', { text: c })))),
        h('tbody', {}, runs.map((r) => h('tr', {},
          h('td', { class: 'mono' }, h('a', { href: href('dag', dagId, 'run', r.run_id), text: r.run_id })),
          h('td', { text: orDash(r.run_type) }),
          h('td', {}, badge(r.state)),
          h('td', { class: 'nowrap', text: fmtDate(r.logical_date) }),
          h('td', { class: 'nowrap', text: fmtDate(r.start_date) }),
          h('td', { class: 'nowrap', text: fmtDate(r.end_date) }),
          h('td', { class: 'nowrap', text: fmtDuration(r.duration, r.start_date, r.end_date) }),
          h('td', { class: 'mono desc', text: clip(fmtJson(r.conf, false), 120) }))))));
    }
    const prev = h('button', { type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - RUNS_PAGE)) }, '‹ Newer');
    const next = h('button', { type: 'button', disabled: offset + runs.length >= total, onclick: () => go(offset + RUNS_PAGE) }, 'Older ›');
    pager.replaceChildren(prev, next, h('span', { text: total ? `${offset + 1}–${offset + runs.length} of ${total}` : '0 runs' }));
  }

  // ------------------------------------------------------------------ one run

  const TERMINAL_RUN = new Set(['success', 'failed']);

  // The run itself: GET .../runs/RUN where the server has it, else the list of runs searched a
  // page at a time.
  async function findRun(dagId, runId) {
    try {
      const run = await api('GET', apiPath('dags', dagId, 'runs', runId));
      if (run && run.run_id !== undefined) return run;
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
    }
    for (let offset = 0; offset < 2000; offset += 100) {
      const data = await api('GET', apiPath('dags', dagId, 'runs') + `?limit=100&offset=${offset}`);
      const runs = data && Array.isArray(data.runs) ? data.runs : [];
      const hit = runs.find((r) => String(r.run_id) === runId);
      if (hit) return hit;
      if (runs.length < 100) break;
    }
    return null;
  }

  // The "Clear" controls: getTasks() says which tasks; onDone() runs after the server agreed.
  function clearControls(view, dagId, runId, getTasks, onDone, opts) {
    const downstream = h('input', { type: 'checkbox', id: 'clear-downstream' });
    const onlyFailed = h('input', { type: 'checkbox', id: 'clear-only-failed' });
    const msg = h('span', { class: 'form-error', id: 'clear-error', role: 'alert' });
    const btn = h('button', { type: 'button', class: 'danger', id: 'clear-submit' }, opts.label());
    btn.addEventListener('click', async () => {
      msg.textContent = '';
      const tasks = getTasks();
      if (!tasks.length) {
        msg.textContent = 'There is no task to clear.';
        return;
      }
      btn.disabled = true;
      try {
        await api('POST', apiPath('dags', dagId, 'runs', runId, 'clear'),
          { tasks, downstream: downstream.checked, only_failed: onlyFailed.checked });
        if (view.alive) {
          flash(`Cleared ${tasks.length === 1 ? tasks[0] : tasks.length + ' tasks'} of ${runId}: ` +
            'they run again.', 'ok');
          onDone();
        }
      } catch (e) {
        msg.textContent = 'Clear failed: ' + errorText(e);
      } finally {
        btn.disabled = false;
      }
    });
    btn.relabel = () => { btn.textContent = opts.label(); };
    return h('div', { class: 'actions' }, btn,
      h('label', { class: 'check' }, downstream, 'with downstream'),
      opts.onlyFailed ? h('label', { class: 'check' }, onlyFailed, 'only failed') : null, msg);
  }

  function runView(view, dagId, runId) {
    const facts = h('dl', { class: 'facts', id: 'run-facts' });
    const stateBox = h('span');
    const tableBox = h('div', { class: 'table-scroll' });
    const status = h('div', { class: 'status-line' });
    const selected = new Set();
    let tis = [];
    let lastRun = '';
    let lastTis = '';
    let ctl = null;
    const clearBox = clearControls(view, dagId, runId,
      () => (selected.size ? [...selected] : tis.map((t) => String(t.task_id))),
      () => { selected.clear(); lastTis = ''; relabel(); ctl.kick(); },
      { label: () => (selected.size ? `Clear ${selected.size} selected task${selected.size === 1 ? '' : 's'}` : 'Clear all tasks'), onlyFailed: true });
    const relabel = () => clearBox.querySelector('#clear-submit').relabel();
    view.root.append(
      crumbs(['DAGs', '#/dags'], [dagId, href('dag', dagId)], [runId]),
      h('div', { class: 'page-head' }, h('h1', { class: 'mono', text: runId }), stateBox),
      h('div', { class: 'card' }, facts),
      h('div', { class: 'card' }, h('h2', { text: 'Task instances' }), tableBox, clearBox),
      status);
    ctl = view.loop(TASK_POLL_MS, async () => {
      try {
        const [run, data] = await Promise.all([findRun(dagId, runId),
          api('GET', apiPath('dags', dagId, 'runs', runId, 'tasks'))]);
        if (!view.alive) return false;
        status.textContent = '';
        status.classList.remove('error');
        const runText = JSON.stringify(run);
        if (runText !== lastRun) {
          lastRun = runText;
          if (run) renderRunFacts(facts, stateBox, run);
          else facts.replaceChildren(h('dt', { text: 'Run' }), h('dd', { text: 'not found among the runs of this DAG' }));
        }
        tis = data && Array.isArray(data.task_instances) ? data.task_instances : [];
        const tisText = JSON.stringify(tis);
        if (tisText !== lastTis) {
          lastTis = tisText;
          renderTaskInstances(tableBox, dagId, runId, tis, selected, relabel);
        }
        return !(run && TERMINAL_RUN.has(run.state) && tis.every((t) => TERMINAL_TASK.has(t.state)));
      } catch (e) {
        status.textContent = 'Could not load the run: ' + errorText(e);
        status.classList.add('error');
        return true;
      }
    });
  }

  function renderRunFacts(facts, stateBox, run) {
    stateBox.replaceChildren(badge(run.state));
    const conf = fmtJson(run.conf, true);
    facts.replaceChildren(
      h('dt', { text: 'State' }), h('dd', {}, badge(run.state)),
      h('dt', { text: 'Type' }), h('dd', { text: orDash(run.run_type) }),
      h('dt', { text: 'Logical date' }), h('dd', { text: fmtDate(run.logical_date) }),
      h('dt', { text: 'Started' }), h('dd', { text: fmtDate(run.start_date) }),
      h('dt', { text: 'Ended' }), h('dd', { text: fmtDate(run.end_date) }),
      h('dt', { text: 'Duration' }), h('dd', { text: fmtDuration(run.duration, run.start_date, run.end_date) }),
      h('dt', { text: 'Conf' }), h('dd', {}, conf && conf !== '{}'
        ? h('pre', { class: 'conf', id: 'run-conf', text: conf })
        : h('span', { class: 'muted', text: '{}' })));
  }

  function renderTaskInstances(box, dagId, runId, tis, selected, onPick) {
    if (!tis.length) {
      box.replaceChildren(h('p', { class: 'empty', text: 'No task instances.' }));
      return;
    }
    const head = ['Task', 'State', 'Try', 'Service', 'Exit', 'Error', 'Output', 'Started', 'Ended', 'Duration'];
    box.replaceChildren(h('table', { class: 'list tis' },
      h('thead', {}, h('tr', {}, h('th', { 'aria-label': 'select' }), head.map((c) => h('th', { text: c })))),
      h('tbody', {}, tis.map((t) => {
        const id = String(t.task_id);
        const mi = typeof t.map_index === 'number' && t.map_index >= 0 ? t.map_index : null;
        const name = tiName(id, mi);
        // Clearing takes task ids: an instance's box selects its whole mapped task.
        const pick = h('input', { type: 'checkbox', checked: selected.has(id), 'aria-label': 'select ' + name, 'data-task': id });
        pick.addEventListener('change', () => {
          if (pick.checked) selected.add(id);
          else selected.delete(id);
          onPick();
        });
        const n = Number(t.try_number) || 0;
        const link = n > 0 ? href('dag', dagId, 'run', runId, ...tiParts(id, mi), 'try', n)
          : href('dag', dagId, 'run', runId, ...tiParts(id, mi));
        return h('tr', { 'data-task': id, 'data-map-index': mi },
          h('td', {}, pick),
          h('td', {}, h('a', { href: link, text: name })),
          h('td', {}, badge(t.state)),
          h('td', { class: 'nowrap', text: t.max_tries ? `${n} / ${t.max_tries}` : String(n) }),
          h('td', { class: 'mono', text: orDash(t.service_name) }),
          h('td', { text: orDash(t.exit_code) }),
          h('td', { class: 'err-cell', text: t.error || '' }),
          h('td', { class: 'out-cell mono', title: t.output == null ? null : String(t.output), text: t.output == null ? '' : clip(String(t.output), 60) }),
          h('td', { class: 'nowrap', text: fmtDate(t.start_date) }),
          h('td', { class: 'nowrap', text: fmtDate(t.end_date) }),
          h('td', { class: 'nowrap', text: fmtDuration(t.duration, t.start_date, t.end_date) }));
      }))));
  }

  // ------------------------------------------------------------------ one task: tries and log

  function triesOf(data) {
    const list = Array.isArray(data) ? data : (data && Array.isArray(data.tries) ? data.tries : []);
    return list.map((t, i) => Object.assign({}, t, { try_number: Number(t.try_number) || i + 1 }))
      .sort((a, b) => a.try_number - b.try_number);
  }

  function taskView(view, dagId, runId, taskId, wantTry, mapIndex) {
    const name = tiName(taskId, mapIndex);
    const tiHref = (...more) => href('dag', dagId, 'run', runId, ...tiParts(taskId, mapIndex), ...more);
    const stateBox = h('span');
    const tryTabs = h('nav', { class: 'try-tabs', 'aria-label': 'Tries' });
    const facts = h('dl', { class: 'facts', id: 'try-facts' });
    const logState = h('span', { class: 'log-state', id: 'log-state' });
    const follow = h('input', { type: 'checkbox', checked: true, id: 'log-follow' });
    const log = h('pre', { class: 'log', id: 'log', tabindex: '0' });
    const status = h('div', { class: 'status-line' });
    const tryTitle = h('h2', { text: wantTry ? `Try ${wantTry}` : 'Latest try' });
    let ctl = null;
    let shown = 0; // the try whose log is shown (0: none yet)
    let logGen = 0;
    let tryOver = false; // the shown try has ended: a missing log will not come any more
    let lastFacts = '';
    const clearBox = clearControls(view, dagId, runId, () => [taskId], () => { lastFacts = ''; ctl.kick(); },
      { label: () => 'Clear this task', onlyFailed: false });
    view.root.append(
      crumbs(['DAGs', '#/dags'], [dagId, href('dag', dagId)], [runId, href('dag', dagId, 'run', runId)], [name]),
      h('div', { class: 'page-head' }, h('h1', { text: name }), stateBox),
      tryTabs,
      h('div', { class: 'two-col' },
        h('div', { class: 'card' }, tryTitle, facts, clearBox),
        h('div', { class: 'card' },
          h('div', { class: 'log-head' }, h('h2', { text: 'Log' }), logState, h('span', { class: 'spacer' }),
            h('label', { class: 'check' }, follow, 'follow')),
          log)),
      status);

    // tailLog(n, gen): the log of try n from offset 0, then every second from where it ended,
    // until the server says it is complete (or the view or the shown try changes).
    const tailLog = (n, gen) => {
      let offset = 0;
      log.replaceChildren();
      log.classList.remove('complete');
      logState.textContent = 'loading…';
      view.loop(LOG_POLL_MS, async () => {
        if (gen !== logGen) return false;
        let data;
        try {
          data = await api('GET', apiPath('dags', dagId, 'runs', runId, 'tasks', taskId, 'logs', n) + '?offset=' + offset + mapQuery(mapIndex, '&'));
        } catch (e) {
          if (gen !== logGen) return false;
          const missing = e instanceof ApiError && e.status === 404;
          logState.textContent = missing ? (tryOver ? 'no log was kept' : 'no log yet') : 'log: ' + errorText(e);
          logState.classList.remove('live');
          return !(missing && tryOver);
        }
        if (gen !== logGen || !view.alive) return false;
        const chunk = data && typeof data.content === 'string' ? data.content : '';
        if (chunk) {
          const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          log.appendChild(document.createTextNode(chunk));
          if (follow.checked && atEnd) log.scrollTop = log.scrollHeight;
        }
        if (data && typeof data.next_offset === 'number' && data.next_offset >= offset) offset = data.next_offset;
        else offset += chunk.length;
        const complete = !!(data && data.complete);
        logState.textContent = complete ? (log.textContent ? 'complete' : 'complete (empty)') : 'live';
        logState.classList.toggle('live', !complete);
        log.classList.toggle('complete', complete);
        return !complete;
      });
    };

    ctl = view.loop(TASK_POLL_MS, async () => {
      try {
        const [tisData, triesData] = await Promise.all([
          api('GET', apiPath('dags', dagId, 'runs', runId, 'tasks')),
          api('GET', apiPath('dags', dagId, 'runs', runId, 'tasks', taskId, 'tries') + mapQuery(mapIndex)),
        ]);
        if (!view.alive) return false;
        status.textContent = '';
        status.classList.remove('error');
        const tis = tisData && Array.isArray(tisData.task_instances) ? tisData.task_instances : [];
        const wantIndex = mapIndex != null ? mapIndex : -1;
        const ti = tis.find((t) => String(t.task_id) === taskId && (typeof t.map_index === 'number' ? t.map_index : -1) === wantIndex) || null;
        const tries = triesOf(triesData);
        const latest = tries.length ? tries[tries.length - 1].try_number : 0;
        const n = wantTry || latest;
        const tr = tries.find((t) => t.try_number === n) || null;
        stateBox.replaceChildren(ti ? badge(ti.state) : h('span', { class: 'muted', text: 'no such task in this run' }));
        renderTryTabs(tryTabs, tiHref, tries, n);
        tryTitle.textContent = n > 0 ? `Try ${n}` + (n === latest && !wantTry ? ' (latest)' : '') : 'Not started yet';
        const text = JSON.stringify([ti, tr]);
        if (text !== lastFacts) {
          lastFacts = text;
          renderTryFacts(facts, ti, tr, n);
        }
        tryOver = !!(tr && TERMINAL_TRY.has(tr.state)) || !!(ti && !tr && TERMINAL_TASK.has(ti.state));
        if (tr && shown !== n) {
          shown = n;
          tailLog(n, ++logGen);
        } else if (!tr) {
          logState.textContent = n > latest ? 'no such try' : 'not started yet';
        }
        const tiDone = ti ? TERMINAL_TASK.has(ti.state) : true;
        return !(tiDone && (tr === null || TERMINAL_TRY.has(tr.state)));
      } catch (e) {
        status.textContent = 'Could not load the task: ' + errorText(e);
        status.classList.add('error');
        return true;
      }
    });
  }

  function renderTryTabs(nav, tiHref, tries, current) {
    nav.replaceChildren(...tries.map((t) => h('a', {
      class: t.try_number === current ? 'active' : '',
      href: tiHref('try', t.try_number),
      'data-try': t.try_number,
    }, h('span', { class: 'sq ' + stateClass(t.state) }), `Try ${t.try_number}`)));
  }

  function renderTryFacts(facts, ti, tr, n) {
    const src = tr || (n === 0 ? ti : null) || {};
    const rows = [
      ['State', 'state', badge(src.state || (ti && n === 0 ? ti.state : null))],
      ['Try', 'try', n > 0 ? (ti && ti.max_tries ? `${n} of ${ti.max_tries}` : String(n)) : 'not started'],
      ['Exit code', 'exit_code', orDash(src.exit_code)],
      ['Engine error', 'error', src.error ? String(src.error) : '—'],
      ['Service', 'service_name', h('span', { class: 'mono', text: orDash(src.service_name) })],
      ['Service id', 'service_id', h('span', { class: 'mono', text: orDash(src.service_id) })],
      ['Started', 'start_date', fmtDate(src.start_date)],
      ['Ended', 'end_date', fmtDate(src.end_date)],
      ['Duration', 'duration', fmtDuration(src.duration, src.start_date, src.end_date)],
      ['Output', 'output', src.output == null ? '—' : h('pre', { class: 'output', id: 'try-output', text: String(src.output) })],
    ];
    if (ti && typeof ti.map_index === 'number' && ti.map_index >= 0) rows.splice(1, 0, ['Map index', 'map_index', String(ti.map_index)]);
    facts.replaceChildren(...rows.flatMap(([label, key, v]) => [h('dt', { text: label }),
      h('dd', { class: key === 'error' && src.error ? 'error' : null, 'data-fact': key }, v)]));
  }

  window.addEventListener('hashchange', route);
  route();
}());
