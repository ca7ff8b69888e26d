#!/usr/bin/env node
// Real-browser tests of the cnpg-guard playground and Argo CD extension.
//
//   node web/tests/browser.mjs --bundle dist/web --out target/web-screenshots
//
// --bundle: the directory `cargo xtask web` writes (cnpg-guard-web.js,
//           playground/ with its own copy of it, argocd-extension/).
// --out:    where playground.png and extension.png go.
// --chromium PATH (default /usr/bin/chromium, or $CHROMIUM).
//
// Headless Debian chromium driven by playwright-core (no browser download);
// pages are served by a small static server on 127.0.0.1 (random port), and the
// playground is also opened from file://. Missing chromium or bundle is a
// FAILURE, not a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const FIXTURES = path.join(HERE, 'fixtures');
const PARITY = path.join(REPO, 'tests', 'fixtures', 'parity');

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const out = { bundle: null, out: null, chromium: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--bundle') out.bundle = take();
    else if (a === '--out') out.out = take();
    else if (a === '--chromium') out.chromium = take();
    else if (a.startsWith('--bundle=')) out.bundle = a.slice(9);
    else if (a.startsWith('--out=')) out.out = a.slice(6);
    else if (a.startsWith('--chromium=')) out.chromium = a.slice(11);
    // node:test's own flags (e.g. --test-reporter) pass through untouched.
  }
  out.bundle = path.resolve(out.bundle || path.join(REPO, 'dist', 'web'));
  out.out = path.resolve(out.out || path.join(REPO, 'target', 'web-tests'));
  return out;
}

const ARGS = parseArgs(process.argv.slice(2));

// What the bundle directory must hold, and where the extension file is.
function locateBundle(dir) {
  const engine = path.join(dir, 'cnpg-guard-web.js');
  const playground = path.join(dir, 'playground', 'index.html');
  const playgroundEngine = path.join(dir, 'playground', 'cnpg-guard-web.js');
  const missing = [engine, playground, playgroundEngine].filter((p) => !fs.existsSync(p));
  // The extension as shipped (engine + tab in one file) when the build made it; else the two parts.
  const shipped = [
    path.join(dir, 'argocd-extension', 'resources', 'cnpg-guard', 'extension-cnpg-guard.js'),
    path.join(dir, 'argocd-extension', 'extension-cnpg-guard.js')
  ].find((p) => fs.existsSync(p));
  const separate = path.join(dir, 'argocd-extension', 'extension.js');
  let extension;
  if (shipped) extension = { files: [shipped], label: path.relative(dir, shipped) };
  else if (fs.existsSync(separate)) extension = { files: [engine, separate], label: 'cnpg-guard-web.js + argocd-extension/extension.js' };
  else missing.push(path.join(dir, 'argocd-extension', 'extension-cnpg-guard.js'));
  return { missing, engine, extension };
}

const PREREQ = [];
if (!fs.existsSync(ARGS.chromium)) {
  PREREQ.push(`chromium not found at ${ARGS.chromium}: install it with \`cargo xtask setup\` (Debian: apt-get install -y chromium)`);
}
const BUNDLE = locateBundle(ARGS.bundle);
if (BUNDLE.missing.length) {
  PREREQ.push(`the web bundle is missing in ${ARGS.bundle} (${BUNDLE.missing.map((p) => path.relative(ARGS.bundle, p)).join(', ')}): build it with \`cargo xtask web\``);
}
let chromium = null;
let YAML = null;
try {
  ({ chromium } = await import('playwright-core'));
  YAML = (await import('yaml')).default;
} catch (e) {
  PREREQ.push(`the test's npm packages are not installed (${e.code || e.message}): run \`npm ci --prefix web/tests\` (cargo xtask setup does)`);
}

if (PREREQ.length) {
  for (const p of PREREQ) console.error(`browser tests: ${p}`);
  test('prerequisites: chromium, the web bundle and the npm packages are present', () => {
    assert.fail(PREREQ.join('; '));
  });
} else {
  defineTests();
}

// ------------------------------------------------------------------ server

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
  '.yml': 'text/yaml; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.tar': 'application/x-tar'
};

// Serves /bundle/… from the bundle, /tests/… from web/tests (stub pages, fixtures, node_modules).
function startServer(roots) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const prefix = Object.keys(roots).find((p) => url.pathname.startsWith(p));
    let file = null;
    if (prefix) {
      const rel = decodeURIComponent(url.pathname.slice(prefix.length));
      const root = roots[prefix];
      const candidate = path.resolve(root, '.' + path.posix.normalize('/' + rel));
      if (candidate === root || candidate.startsWith(root + path.sep)) file = candidate;
    }
    if (file && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ------------------------------------------------------------------ inputs

function read(p) { return fs.readFileSync(p, 'utf8'); }

// 50 Clusters + 50 ObjectStores: every fifth Cluster restores from the lineage it archives to.
function generatedStream(pairs = 50) {
  const docs = [];
  for (let i = 0; i < pairs; i++) {
    const name = `db-${String(i).padStart(2, '0')}`;
    const self = i % 5 === 0;
    docs.push(`apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: ${name}-store
  namespace: bulk
spec:
  retentionPolicy: "30d"
  configuration:
    destinationPath: s3://backups/bulk/${name}
    endpointURL: https://s3.example.org
    s3Credentials:
      accessKeyId: {name: s3-creds, key: ACCESS_KEY_ID}
      secretAccessKey: {name: s3-creds, key: ACCESS_SECRET_KEY}
`);
    docs.push(`apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
  namespace: bulk
spec:
  instances: 3
  storage: {size: 20Gi}
${self ? `  bootstrap:
    recovery:
      source: origin
      database: app
      owner: app
  externalClusters:
    - name: origin
      plugin:
        name: barman-cloud.cloudnative-pg.io
        parameters:
          barmanObjectName: ${name}-store
          serverName: ${name}-v1
` : ''}  plugins:
    - name: barman-cloud.cloudnative-pg.io
      isWALArchiver: true
      parameters:
        barmanObjectName: ${name}-store
        serverName: ${name}-v1
`);
  }
  return docs.join('---\n');
}

// A ustar reader, enough for extension.tar: [{name, type, data}].
function untar(buf) {
  const out = [];
  for (let off = 0; off + 512 <= buf.length;) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a, n) => header.subarray(a, a + n).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const prefix = str(345, 155);
    const name = (prefix ? prefix + '/' : '') + str(0, 100);
    const flag = String.fromCharCode(header[156] || 48);
    out.push({ name, type: flag === '5' ? 'dir' : flag === '0' ? 'file' : flag, data: buf.subarray(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function formatFinding(f) {
  const o = f.object || {};
  return `${f.severity} ${f.rule} ${o.kind} ${o.namespace}/${o.name} ${f.path}`;
}

function sorted(list) { return [...list].sort(); }

// ------------------------------------------------------------------ the tests

function defineTests() {
  const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'];
  const NO_BUMP = read(path.join(FIXTURES, 'seed000-recovery-no-bump.yaml'));
  const BUMPED = read(path.join(FIXTURES, 'seed000-recovery-bumped.yaml'));
  const SELF_REUSE_PATH = 'spec.plugins[0].parameters.serverName';
  let server;
  let base;
  let context;
  let userDataDir;
  const pageErrors = [];

  fs.mkdirSync(ARGS.out, { recursive: true });

  before(async () => {
    server = await startServer({ '/bundle/': ARGS.bundle, '/tests/': HERE, '/source/': path.join(REPO, 'web', 'argocd-extension') });
    base = `http://127.0.0.1:${server.address().port}`;
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnpg-guard-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: ARGS.chromium,
      headless: true,
      args: LAUNCH_ARGS,
      viewport: { width: 1400, height: 1000 },
      // No request leaves 127.0.0.1 (and file://): anything else is an error of the page.
      offline: false
    });
    context.setDefaultTimeout(15000);
    await context.route(/^(?!http:\/\/127\.0\.0\.1:|file:|data:|blob:)/, (route) => {
      pageErrors.push(`unexpected request to ${route.request().url()}`);
      return route.abort();
    });
  });

  after(async () => {
    if (context) await context.close();
    if (server) await new Promise((r) => server.close(r));
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  async function newPage() {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url().slice(0, 80)}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${page.url().slice(0, 80)}: console: ${m.text()}`); });
    return page;
  }

  async function openPlayground(url) {
    const page = await newPage();
    await page.goto(url || `${base}/bundle/playground/index.html`);
    // Ready when the rules table is filled (api.rules() ran).
    await page.waitForSelector('#rules-table tbody tr');
    return page;
  }

  const run = (page) => page.$eval('#summary', (e) => Number(e.getAttribute('data-run') || 0));

  // Paste (a real input event, so the debounced re-check fires too), then click Check.
  async function paste(page, text) {
    const before = await run(page);
    await page.fill('#manifests', text);
    await page.click('#check');
    await page.waitForFunction((n) => Number(document.querySelector('#summary').getAttribute('data-run')) > n, before);
    return page;
  }

  const rulesShown = (page) => page.$$eval('.finding', (els) => els.map((e) => `${e.dataset.severity} ${e.dataset.rule}`).sort());

  test('install: the kustomize Component renders the installer init container over argocd-server', () => {
    execFileSync('kubectl', ['kustomize', path.join(REPO, 'web', 'argocd-extension', 'install')], { stdio: 'pipe' });
    const out = execFileSync('kubectl', ['kustomize', path.join(FIXTURES, 'argocd-install')], { encoding: 'utf8' });
    const dep = YAML.parse(out);
    const spec = dep.spec.template.spec;
    const init = (spec.initContainers || []).find((c) => c.name === 'argocd-extension-installer');
    assert.ok(init, 'init container argocd-extension-installer');
    assert.match(init.image, /^quay\.io\/argoprojlabs\/argocd-extension-installer:v\d+\.\d+\.\d+/);
    const env = Object.fromEntries(init.env.map((e) => [e.name, e.value]));
    assert.match(env.EXTENSION_URL, /\/releases\/download\/v[^/]+\/extension\.tar$/);
    assert.match(env.EXTENSION_CHECKSUM_URL, /\/releases\/download\/v[^/]+\//);
    const mount = (c) => (c.volumeMounts || []).some((m) => m.name === 'extensions' && m.mountPath.replace(/\/$/, '') === '/tmp/extensions');
    assert.ok(mount(init), 'installer mounts /tmp/extensions');
    assert.ok(mount(spec.containers.find((c) => c.name === 'argocd-server')), 'argocd-server mounts /tmp/extensions');
    assert.ok(spec.volumes.some((v) => v.name === 'extensions' && v.emptyDir), 'emptyDir extensions');
    assert.ok(spec.volumes.some((v) => v.name === 'tmp'), 'the stub\'s own volumes are kept');
  });

  test('extension: extension.tar is laid out for the installer (resources/cnpg-guard/extension-*.js)', () => {
    const tarPath = path.join(ARGS.bundle, 'argocd-extension', 'extension.tar');
    assert.ok(fs.existsSync(tarPath), `${tarPath} is missing: build it with \`cargo xtask web\``);
    const entries = untar(fs.readFileSync(tarPath));
    const names = entries.map((e) => e.name);
    const js = entries.filter((e) => e.type === 'file' && e.name.endsWith('.js'));
    assert.ok(names.every((n) => n.startsWith('resources/')), names.join(', '));
    assert.deepEqual(js.map((e) => e.name), ['resources/cnpg-guard/extension-cnpg-guard.js']);
    // Argo CD serves the files whose name matches ^extension(.*)\.js$
    assert.match(path.posix.basename(js[0].name), /^extension(.*)\.js$/);
    const shipped = path.join(ARGS.bundle, 'argocd-extension', 'extension-cnpg-guard.js');
    if (fs.existsSync(shipped)) assert.ok(js[0].data.equals(fs.readFileSync(shipped)), 'the tar holds extension-cnpg-guard.js as built');
    const text = js[0].data.toString('utf8');
    const engineAt = text.search(/\.cnpgGuard\s*=[^=]/);
    const tabAt = text.indexOf("registerResourceExtension(DisasterRecoveryTab, 'postgresql.cnpg.io', 'Cluster', 'DR'");
    assert.ok(engineAt >= 0, 'the engine (… .cnpgGuard = …) is in the file');
    assert.ok(tabAt >= 0, 'the tab is in the file');
    assert.ok(engineAt < tabAt, 'the engine comes first');
    // EXTENSION_CHECKSUM_URL's file: sha256sum format, naming extension.tar.
    const sums = read(path.join(ARGS.bundle, 'argocd-extension', 'extension_checksums.txt'));
    const sha = createHash('sha256').update(fs.readFileSync(tarPath)).digest('hex');
    assert.equal(sums, `${sha}  extension.tar\n`);
  });

  test('extension: a classic script that parses on its own and after the engine (as in /extensions.js)', () => {
    const files = BUNDLE.extension.files;
    const joined = files.map(read).join('\n;\n');
    assert.doesNotThrow(() => new vm.Script(joined, { filename: BUNDLE.extension.label }));
    const src = read(path.join(REPO, 'web', 'argocd-extension', 'extension.js'));
    assert.doesNotThrow(() => new vm.Script(src, { filename: 'extension.js' }));
    assert.doesNotMatch(src, /^\s*(import|export)\s/m, 'no ES module syntax');
  });

  test('playground: the seed-000 recovery flip without the bump is denied (lineage-self-reuse), the bumped one is not', async () => {
    const page = await openPlayground();
    await paste(page, NO_BUMP);
    const sel = '.finding[data-rule="lineage-self-reuse"][data-severity="deny"]';
    await page.waitForSelector(sel);
    const text = await page.textContent(sel);
    assert.ok(text.includes(SELF_REUSE_PATH), `the finding shows its field path: ${text}`);
    assert.match(text, /temporal-database-v2/);
    assert.match(await page.textContent('#summary'), /1 denied/);
    // the rationale of the rule travels with the finding
    assert.ok(await page.$(`${sel} details.rationale`), 'rationale shown');
    // the lineage card: archive serverName and where it comes from
    const card = await page.textContent('.lineage-card');
    assert.match(card, /temporal-database-v2/);
    assert.match(card, /temporal-database-v3/, 'next drill moves to v3');
    await page.screenshot({ path: path.join(ARGS.out, 'playground.png') });

    await paste(page, BUMPED);
    assert.deepEqual(await page.$$('.finding[data-rule="lineage-self-reuse"]'), []);
    assert.deepEqual(await page.$$('.finding[data-severity="deny"]'), []);
    assert.ok((await page.$$('.finding')).length > 0, 'the bumped case still has its warnings');
    assert.match(await page.textContent('#summary'), /0 denied/);

    // unparseable input: a one-line error in role=alert, no crash
    await paste(page, 'apiVersion: v1\nkind: [unclosed\n');
    const alert = await page.waitForSelector('[role="alert"]:not([hidden])');
    assert.ok((await alert.textContent()).trim().length > 0);
    assert.deepEqual(await page.$$('.finding'), []);
    await page.close();
  });

  test('playground: added files are checked one by one (checkFiles), findings carry file:line', async () => {
    const page = await openPlayground();
    const before = await run(page);
    await page.setInputFiles('#files', [
      { name: 'seed000-recovery-no-bump.yaml', mimeType: 'text/yaml', buffer: Buffer.from(NO_BUMP) },
      { name: 'seed000-recovery-bumped.yaml', mimeType: 'text/yaml', buffer: Buffer.from(BUMPED) }
    ]);
    await page.waitForFunction((n) => Number(document.querySelector('#summary').getAttribute('data-run')) > n, before);
    assert.equal((await page.$$('#file-list li')).length, 2);
    const locs = await page.$$eval('.finding[data-rule="lineage-self-reuse"] .loc', (els) => els.map((e) => e.textContent.trim()));
    assert.equal(locs.length, 1, locs.join(', '));
    assert.match(locs[0], /^seed000-recovery-no-bump\.yaml:\d+$/);
    assert.match(await page.textContent('#summary'), /^4 objects checked · 1 denied/);
    // the files travel in the share link too
    const href = await page.getAttribute('#share-link', 'href');
    assert.match(href, /#f=/);
    await page.click('#clear-files');
    assert.equal(await page.isHidden('#files-box'), true);
    // a file dropped on the panel (here: on the text area) is added the same way
    const n = await run(page);
    await page.evaluate((t) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], 'dropped.yaml', { type: 'text/yaml' }));
      const target = document.getElementById('manifests');
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, NO_BUMP);
    await page.waitForFunction((k) => Number(document.querySelector('#summary').getAttribute('data-run')) > k, n);
    assert.match(await page.textContent('.finding[data-rule="lineage-self-reuse"] .loc'), /dropped\.yaml:\d+/);
    assert.equal(await page.inputValue('#manifests'), '', 'the drop adds a file, it does not paste into the text area');
    await page.close();
  });

  test('playground: every control has a name, the keyboard drives it, focus is visible', async () => {
    const page = await openPlayground();
    const unnamed = await page.$$eval('input, select, textarea, button, a[href]', (els) => els.filter((e) => {
      if (e.closest('[hidden]') || e.type === 'hidden') return false;
      const byLabel = e.labels ? Array.from(e.labels).map((l) => l.textContent).join(' ') : '';
      const by = (e.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
      const name = [e.getAttribute('aria-label'), byLabel, by, e.tagName === 'BUTTON' || e.tagName === 'A' ? e.textContent : ''].join(' ').trim();
      return !name;
    }).map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unnamed, []);
    assert.equal(await page.getAttribute('#results', 'aria-live'), 'polite');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    // Tab from the text area to the Check button, Enter checks
    await page.fill('#manifests', NO_BUMP);
    const before = await run(page);
    await page.focus('#check');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'check');
    const outline = await page.$eval('#check', (e) => getComputedStyle(e).outlineStyle);
    assert.notEqual(outline, 'none', 'visible focus');
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.querySelector('#summary').getAttribute('data-run')) > n, before);
    await page.waitForSelector('.finding[data-rule="lineage-self-reuse"]');
    await page.close();
  });

  test('playground: the share link carries manifests and settings, and re-checks on open', async () => {
    const page = await openPlayground();
    await paste(page, NO_BUMP);
    const shown = await rulesShown(page);
    assert.ok(shown.includes('warn prune-protection-missing'), shown.join(', '));
    // a per-rule override is part of the link
    const before = await run(page);
    await page.selectOption('#severity-prune-protection-missing', 'off');
    await page.waitForFunction((n) => Number(document.querySelector('#summary').getAttribute('data-run')) > n, before);
    const withOverride = await rulesShown(page);
    assert.ok(!withOverride.includes('warn prune-protection-missing'));
    const href = await page.getAttribute('#share-link', 'href');
    assert.match(href, /#m=[A-Za-z0-9_-]+&s=[A-Za-z0-9_-]+$/);
    await page.close();

    const fresh = await openPlayground(href);
    await fresh.waitForSelector('.finding[data-rule="lineage-self-reuse"]');
    assert.deepEqual(await rulesShown(fresh), withOverride);
    assert.equal(await fresh.inputValue('#manifests'), NO_BUMP);
    assert.equal(await fresh.inputValue('#severity-prune-protection-missing'), 'off');
    await fresh.close();
  });

  test('playground: works from file://', async () => {
    const url = pathToFileURL(path.join(ARGS.bundle, 'playground', 'index.html')).href;
    const page = await openPlayground(url);
    await paste(page, NO_BUMP);
    await page.waitForSelector('.finding[data-rule="lineage-self-reuse"][data-severity="deny"]');
    const href = await page.getAttribute('#share-link', 'href');
    assert.ok(href.startsWith('file://') && href.includes('#m='), href.slice(0, 60));
    await page.close();
  });

  test('parity: the browser engine gives the parity table\'s findings and mutations', async () => {
    const table = YAML.parse(read(path.join(PARITY, 'cases.yaml')));
    const cases = table.cases.map((c) => ({ file: c.file, text: read(path.join(PARITY, c.file)), expect: c.expect || [], mutated: c.mutated || [] }));
    assert.ok(cases.length >= 5, 'the parity table has cases');
    const page = await openPlayground();
    const got = await page.evaluate(async (inputs) => {
      const api = await window.cnpgGuard.ready;
      return inputs.map((c) => {
        try {
          const r = api.check(c.text);
          return { file: c.file, findings: r.findings, mutated: r.mutated || [] };
        } catch (e) {
          return { file: c.file, error: String(e && e.message || e) };
        }
      });
    }, cases.map(({ file, text }) => ({ file, text })));
    for (const [i, c] of cases.entries()) {
      const g = got[i];
      assert.equal(g.error, undefined, `${c.file}: ${g.error}`);
      assert.deepEqual(sorted(g.findings.map(formatFinding)), sorted(c.expect), `${c.file}: findings`);
      assert.deepEqual(sorted(g.mutated.map((o) => `${o.kind} ${o.namespace}/${o.name}`)), sorted(c.mutated), `${c.file}: mutated`);
    }
    await page.close();
  });

  test('extension: the DR tab on a live Cluster (lineage, recovery window, findings, next drill)', async () => {
    const cluster = JSON.parse(read(path.join(FIXTURES, 'argocd', 'cluster-live.json')));
    const store = JSON.parse(read(path.join(FIXTURES, 'argocd', 'objectstore-live.json')));
    const application = JSON.parse(read(path.join(FIXTURES, 'argocd', 'application.json')));
    const tree = JSON.parse(read(path.join(FIXTURES, 'argocd', 'tree.json')));
    const page = await newPage();
    const schedule = JSON.parse(read(path.join(FIXTURES, 'argocd', 'scheduledbackup-live.json')));
    const key = (o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    await page.addInitScript((s) => { window.__stub = s; }, { objects: { [key(store)]: store, [key(schedule)]: schedule } });
    const scripts = BUNDLE.extension.files.map((f) => '/bundle/' + path.relative(ARGS.bundle, f).split(path.sep).join('/'));
    await page.goto(`${base}/tests/pages/argocd.html?scripts=${scripts.map(encodeURIComponent).join(',')}`);
    await page.waitForFunction(() => window.__registrations.length > 0 || window.__errors.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__errors), []);
    const regs = await page.evaluate(() => window.__registrations.map((r) => ({ group: r.group, kind: r.kind, title: r.title, opts: r.opts })));
    assert.deepEqual(regs, [{ group: 'postgresql.cnpg.io', kind: 'Cluster', title: 'DR', opts: { icon: 'fa-life-ring' } }]);

    await page.evaluate((props) => window.__renderRegistered(props), { application, resource: cluster, tree });
    await page.waitForSelector('.cnpg-guard-finding, .cnpg-guard-error');
    assert.equal(await page.$('.cnpg-guard-error'), null, await page.textContent('#root'));

    // Argo CD's resource API, as its UI calls it
    const fetches = await page.evaluate(() => window.__fetches);
    // The ObjectStore its lineages name, and the ScheduledBackup the app deploys beside it.
    assert.equal(fetches.length, 2, JSON.stringify(fetches));
    assert.deepEqual(fetches[1].query, {
      name: 'temporal-database', appNamespace: 'argocd', namespace: 'cloudnative-pg', resourceName: 'temporal-database-daily',
      version: 'v1', kind: 'ScheduledBackup', group: 'postgresql.cnpg.io'
    });
    assert.equal(fetches[0].path, '/api/v1/applications/temporal-database/resource');
    assert.deepEqual(fetches[0].query, {
      name: 'temporal-database', appNamespace: 'argocd', namespace: 'cloudnative-pg', resourceName: 'temporal-backups',
      version: 'v1', kind: 'ObjectStore', group: 'barmancloud.cnpg.io'
    });
    assert.equal(fetches[0].credentials, 'same-origin');

    const archive = await page.textContent('.cnpg-guard-lineage[data-role="archive"]');
    assert.match(archive, /temporal-database-v2/, 'archive serverName');
    assert.match(archive, /spec\.plugins\[0\]\.parameters\.serverName/, 'origin of the archive serverName');
    assert.match(archive, /2026-02-15T09:41:27Z/, 'firstRecoverabilityPoint of the lineage');
    const recovery = await page.textContent('.cnpg-guard-lineage[data-role="recovery"]');
    assert.match(recovery, /temporal-database-v2/);
    assert.match(await page.textContent('.cnpg-guard-bootstrap'), /recovery/);
    await page.waitForSelector('.finding[data-rule="lineage-self-reuse"][data-severity="deny"]');
    // Read with the Cluster, the ScheduledBackup covers its archive.
    assert.equal(await page.$('.finding[data-rule="backup-schedule-missing"]'), null);
    // Read with the Cluster, the ScheduledBackup covers its archive.
    assert.equal(await page.$('.finding[data-rule="backup-schedule-missing"]'), null);
    const commands = await page.textContent('.cnpg-guard-commands');
    assert.ok(commands.includes('kubectl cnpg-plan recovery infrastructure/database/cloudnative-pg/temporal'), commands);
    assert.equal((await page.textContent('.cnpg-guard-next-archive')).trim(), 'temporal-database-v3');
    assert.equal((await page.textContent('.cnpg-guard-next-source')).trim(), 'temporal-database-v2');
    await page.screenshot({ path: path.join(ARGS.out, 'extension.png'), fullPage: true });
    assert.deepEqual(await page.evaluate(() => window.__errors), []);
    await page.close();
  });

  test('extension: without the engine it says so instead of crashing', async () => {
    const page = await newPage();
    await page.addInitScript(() => { window.__stub = { objects: {} }; });
    // The tab alone (the source file), as if the engine had been left out of the extension file.
    await page.goto(`${base}/tests/pages/argocd.html?scripts=${encodeURIComponent('/source/extension.js')}`);
    await page.waitForFunction(() => window.__registrations.length > 0);
    const cluster = JSON.parse(read(path.join(FIXTURES, 'argocd', 'cluster-live.json')));
    await page.evaluate((props) => { window.cnpgGuard = undefined; window.__renderRegistered(props); }, { application: {}, resource: cluster, tree: { nodes: [] } });
    await page.waitForSelector('.cnpg-guard-error', { timeout: 15000 });
    assert.match(await page.textContent('.cnpg-guard-error'), /not loaded/);
    await page.close();
  });

  test('timing: the first check of a 100-object stream', async () => {
    const text = generatedStream(50);
    const page = await openPlayground();
    const ms = await page.evaluate(async (t) => {
      const summary = document.querySelector('#summary');
      const before = Number(summary.getAttribute('data-run'));
      document.querySelector('#manifests').value = t; // no input event: one check, the click's
      const t0 = performance.now();
      document.querySelector('#check').click();
      if (Number(summary.getAttribute('data-run')) <= before) throw new Error('the check did not run');
      // rendered: the findings are in the DOM; let layout happen too
      await new Promise((r) => requestAnimationFrame(() => r()));
      return performance.now() - t0;
    }, text);
    const summary = await page.textContent('#summary');
    assert.match(summary, /^100 objects checked/, summary);
    assert.equal((await page.$$('.finding[data-rule="lineage-self-reuse"]')).length, 10);
    console.log(`first check of 100 objects: ${Math.round(ms)} ms`);
    await page.close();
  });

  test('no page error, no request off this machine', () => {
    assert.deepEqual(pageErrors, []);
  });
}
