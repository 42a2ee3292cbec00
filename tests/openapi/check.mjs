// check.mjs - validates recorded answers of swarmflow's Airflow API against Airflow's own v1
// OpenAPI document (airflow-v1.yaml) with openapi-backend (which validates with ajv).
//
//   node check.mjs EXCHANGES.jsonl [OPERATION_ID...]
//
// Each line of EXCHANGES.jsonl is one request and its answer, as tests/e2e/73_airflow_api.sh
// records them: {"method", "path" (as sent, with the query), "status", "content_type", "body"}.
// Every answer must belong to an operation of the document (method and path), carry a status
// that operation declares (errors: any 4xx/5xx whose body is the document's Error object), and
// its JSON body must match the schema of that status. Every OPERATION_ID named must have been
// seen with a 2xx answer. Prints one line per failure and "N passed, N failed" last.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenAPIBackend } from 'openapi-backend';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { load as loadYaml } from 'js-yaml';

const here = dirname(fileURLToPath(import.meta.url));
const [file, ...wanted] = process.argv.slice(2);
if (!file) {
  console.error('usage: node check.mjs EXCHANGES.jsonl [OPERATION_ID...]');
  process.exit(2);
}

// Quick mode: Airflow's own document does not pass the OpenAPI 3.0 meta-schema ($ref with
// sibling keys, as in DAGDetail), which openapi-backend would otherwise refuse to load.
const document = loadYaml(readFileSync(join(here, 'airflow-v1.yaml'), 'utf8'));
// OpenAPI 3.0.3: "nullable: true" only has an effect beside "type" (it adds null to the types);
// Airflow's document also puts it on schemas without one (ScheduleInterval), which ajv refuses
// to compile. Such a "nullable" means nothing, so it goes.
const dropTypelessNullable = (node) => {
  if (Array.isArray(node)) node.forEach(dropTypelessNullable);
  else if (node && typeof node === 'object') {
    if ('nullable' in node && !('type' in node)) delete node.nullable;
    Object.values(node).forEach(dropTypelessNullable);
  }
};
dropTypelessNullable(document);
// Formats are checked: date-time (RFC 3339), and Airflow's own spelling "datetime" the same way.
const withFormats = (ajv) => {
  addFormats(ajv);
  ajv.addFormat('datetime', ajv.formats['date-time']);
  return ajv;
};
const api = new OpenAPIBackend({ definition: document, strict: false, quick: true, customizeAjv: withFormats });
await api.init();
// The document's Error object (RFC 7807), for errors an operation does not list.
const errorSchema = api.definition.components.schemas.Error;
const validateError = withFormats(new Ajv({ strict: false, allErrors: true })).compile(errorSchema);

let passed = 0;
let failed = 0;
const seen = new Set();
const fail = (what, why) => {
  failed++;
  console.log(`FAIL ${what}: ${why}`);
};

const safeJson = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
for (const line of lines) {
  const ex = JSON.parse(line);
  const what = `${ex.method} ${ex.path} -> ${ex.status}`;
  const [rawPath, query = ''] = ex.path.split('?');
  if (!rawPath.startsWith('/api/v1/')) {
    fail(what, 'not under /api/v1');
    continue;
  }
  const op = api.matchOperation({ method: ex.method.toLowerCase(), path: rawPath.slice(7), query, headers: {} });
  if (!op) {
    // Only an error may answer what the document has no operation for (404, 405): as Error.
    if (ex.status !== 404 && ex.status !== 405) fail(what, 'no operation of the document has this method and path');
    else if (!validateError(safeJson(ex.body))) fail(what, `not an Error: ${ex.body.slice(0, 200)}`);
    else passed++;
    continue;
  }
  const declared = Object.keys(op.responses || {});
  const isError = ex.status >= 400;
  if (!declared.includes(String(ex.status)) && !isError) {
    fail(what, `${op.operationId} does not declare status ${ex.status} (declares ${declared.join(', ')})`);
    continue;
  }
  const content = op.responses[String(ex.status)]?.content || {};
  const type = (ex.content_type || '').split(';')[0].trim();
  if (ex.status === 204) {
    if (ex.body !== '') fail(what, '204 with a body');
    else passed++;
    seen.add(op.operationId + ' ' + ex.status);
    continue;
  }
  if (type === 'text/plain') {
    if (!content['text/plain']) fail(what, `${op.operationId} has no text/plain answer`);
    else passed++;
    seen.add(op.operationId + ' ' + ex.status);
    continue;
  }
  if (type !== 'application/json') {
    fail(what, `Content-Type '${ex.content_type}'`);
    continue;
  }
  let body;
  try {
    body = JSON.parse(ex.body);
  } catch (e) {
    fail(what, `the body is not JSON: ${e.message}`);
    continue;
  }
  const errors = [];
  if (declared.includes(String(ex.status))) {
    const res = api.validateResponse(body, op, ex.status);
    if (!res.valid) errors.push(...res.errors.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));
  }
  if (isError && !validateError(body)) {
    errors.push(...validateError.errors.map((e) => `Error${e.instancePath || '/'} ${e.message}`));
  }
  if (isError && body.status !== ex.status) errors.push(`Error.status ${body.status} is not ${ex.status}`);
  if (errors.length) fail(what, `${op.operationId}: ${errors.slice(0, 5).join('; ')}`);
  else passed++;
  seen.add(op.operationId + ' ' + ex.status);
}

const ok2xx = new Set([...seen].filter((s) => /\s2\d\d$/.test(s)).map((s) => s.split(' ')[0]));
for (const id of wanted) {
  if (!ok2xx.has(id)) fail(id, 'never answered with a 2xx status in the recording');
  else passed++;
}
console.log(`operations seen: ${[...new Set([...seen].map((s) => s.split(' ')[0]))].sort().join(' ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
