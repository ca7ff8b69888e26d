// cnpg-guard — Argo CD UI extension: a "DR" tab on every CloudNativePG Cluster.
//
// Written against the Argo CD UI extension API of Argo CD 2.6 and later
// (checked against argo-cd's ui/src/app/shared/services/extensions-service.ts
// and the ui-extensions guide of release-2.9, 2.12 and 3.3):
//   window.extensionsAPI.registerResourceExtension(component, group, kind, tabTitle, opts?)
//     group/kind are globs; opts.icon is a Font Awesome class (older releases ignore opts);
//     the component gets props {application, resource, tree}: resource is the LIVE object,
//     tree the application's resource tree ({nodes: [{group, version, kind, namespace, name, …}]}).
//   React is the global Argo CD provides (not bundled; React.createElement, no JSX).
// ObjectStores are read through Argo CD's own API, as its UI does (applications-service.ts
// getResource): GET <base href>api/v1/applications/<app>/resource?name=…&appNamespace=…
// &namespace=…&resourceName=…&version=…&kind=…&group=… → {"manifest": "<JSON of the live object>"},
// with the user's session cookie. No proxy extension is used, so argocd-server needs no
// server.enable.proxy.extension and no extension.config.
//
// Argo CD concatenates every extension file into /extensions.js: this is a classic
// script (no import/export), everything lives inside one function, and it expects
// cnpg-guard-web.js (window.cnpgGuard) to come first in the same file — it still
// renders a clear message if the engine is missing.
(function (window) {
  'use strict';

  var React = window.React;
  if (!React || !window.extensionsAPI || typeof window.extensionsAPI.registerResourceExtension !== 'function') {
    if (window.console) window.console.warn('cnpg-guard: not inside the Argo CD UI (no React or extensionsAPI); the DR tab is not registered');
    return;
  }
  var h = React.createElement;

  var STORE_GROUP = 'barmancloud.cnpg.io';
  var STORE_KIND = 'ObjectStore';
  // Read with the Cluster when the application deploys them in its namespace.
  var CONTEXT_KINDS = [
    { group: 'postgresql.cnpg.io', kind: 'ScheduledBackup' },
    { group: 'networking.k8s.io', kind: 'NetworkPolicy' }
  ];
  var MAX_CONTEXT = 20;
  var ENGINE_WAIT_MS = 3000;

  var COLORS = {
    deny: { color: '#a50e0e', background: '#fdecec', border: '#a50e0e' },
    warn: { color: '#7a4a00', background: '#fff4db', border: '#b37400' },
    ok: { color: '#14632d', background: '#e7f5ec', border: '#14632d' }
  };

  // ------------------------------------------------------------ engine

  function engine() {
    return new Promise(function (resolve, reject) {
      var waited = 0;
      (function poll() {
        var g = window.cnpgGuard;
        if (g && g.ready && typeof g.ready.then === 'function') { g.ready.then(resolve, reject); return; }
        if (waited >= ENGINE_WAIT_MS) {
          reject(new Error('the cnpg-guard engine (cnpg-guard-web.js) is not loaded: the extension file must contain it before extension.js'));
          return;
        }
        waited += 100;
        setTimeout(poll, 100);
      })();
    });
  }

  function message(e) {
    if (e === null || e === undefined) return 'unknown error';
    return typeof e === 'string' ? e : (e.message || String(e));
  }

  // ------------------------------------------------------------ objects

  // A copy without the bulky bookkeeping (status is kept: the rules read it).
  function clean(obj) {
    var copy = JSON.parse(JSON.stringify(obj || {}));
    if (copy.metadata) delete copy.metadata.managedFields;
    return copy;
  }

  // JSON documents as a YAML stream: each one after its own '---'.
  function stream(objects) {
    return objects.map(function (o) { return '---\n' + JSON.stringify(o); }).join('\n') + '\n';
  }

  function sourcePath(app) {
    var spec = (app && app.spec) || {};
    if (spec.source && spec.source.path) return spec.source.path;
    var sources = spec.sources || [];
    for (var i = 0; i < sources.length; i++) if (sources[i] && sources[i].path) return sources[i].path;
    return null;
  }

  function ref(o) {
    if (!o) return '';
    return (o.kind ? o.kind + ' ' : '') + (o.namespace ? o.namespace + '/' : '') + (o.name || '?');
  }

  // The ObjectStores the Cluster's lineages name (from the engine's own reading).
  function referencedStores(explanation) {
    var seen = {};
    var out = [];
    ((explanation && explanation.clusters) || []).forEach(function (c) {
      [c.archive].concat(c.moreArchives || [], c.sources || []).forEach(function (l) {
        var s = l && l.store;
        if (!s || s.kind !== 'objectStore' || !s.name) return;
        var key = (s.namespace || '') + '/' + s.name;
        if (!seen[key]) { seen[key] = true; out.push({ namespace: s.namespace, name: s.name }); }
      });
    });
    return out;
  }

  function apiBase() {
    // Argo CD serves under <base href> (--rootpath / --basehref); its own UI resolves API paths against it.
    var base = window.document.querySelector('base[href]');
    var href = base ? base.getAttribute('href') : '/';
    return href.charAt(href.length - 1) === '/' ? href : href + '/';
  }

  function fetchLive(app, node) {
    var md = (app && app.metadata) || {};
    var q = new URLSearchParams();
    q.set('name', md.name || '');
    if (md.namespace) q.set('appNamespace', md.namespace);
    q.set('namespace', node.namespace || '');
    q.set('resourceName', node.name);
    q.set('version', node.version || 'v1');
    q.set('kind', node.kind || STORE_KIND);
    q.set('group', node.group || STORE_GROUP);
    var url = apiBase() + 'api/v1/applications/' + encodeURIComponent(md.name || '') + '/resource?' + q.toString();
    return window.fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : ''));
      return res.json();
    }).then(function (body) {
      if (!body || typeof body.manifest !== 'string') throw new Error('the answer has no manifest');
      return JSON.parse(body.manifest);
    });
  }

  // Everything the tab shows, from the live Cluster, the tree and Argo CD's API.
  function analyse(api, props) {
    var app = props.application;
    var cluster = clean(props.resource);
    var ns = (cluster.metadata && cluster.metadata.namespace) || undefined;
    var notes = [];
    var wanted = referencedStores(api.explain(stream([cluster]), ns));
    var nodes = (props.tree && props.tree.nodes) || [];
    var fetches = wanted.map(function (s) {
      var node = null;
      nodes.forEach(function (n) {
        if (!node && n.group === STORE_GROUP && n.kind === STORE_KIND && n.name === s.name && (n.namespace || '') === (s.namespace || ns || '')) node = n;
      });
      if (!node) {
        notes.push('ObjectStore ' + (s.namespace ? s.namespace + '/' : '') + s.name + ' is not part of this application: its recovery window is not shown and the check treats it as not in this tree.');
        return Promise.resolve(null);
      }
      return fetchLive(app, node).then(function (obj) { return clean(obj); }, function (e) {
        notes.push('Could not read ObjectStore ' + (node.namespace ? node.namespace + '/' : '') + node.name + ' through Argo CD: ' + message(e));
        return null;
      });
    });
    // What the coverage rules look at, where the app deploys it next to the
    // Cluster: without them backup-schedule-missing and egress-blocked would
    // fire for objects the tab simply did not read.
    var context = nodes.filter(function (n) {
      return (n.namespace || '') === (ns || '') && CONTEXT_KINDS.some(function (k) { return k.group === n.group && k.kind === n.kind; });
    }).slice(0, MAX_CONTEXT).map(function (n) {
      return fetchLive(app, n).then(function (obj) { return clean(obj); }, function (e) {
        notes.push('Could not read ' + n.kind + ' ' + (n.namespace ? n.namespace + '/' : '') + n.name + ' through Argo CD: ' + message(e));
        return null;
      });
    });
    return Promise.all([Promise.all(fetches), Promise.all(context)]).then(function (got) {
      var stores = got[0].filter(Boolean);
      var text = stream([cluster].concat(stores, got[1].filter(Boolean)));
      var explanation = api.explain(text, ns);
      var report = api.check(text);
      var mine = null;
      ((explanation && explanation.clusters) || []).forEach(function (c) {
        if (!mine && c.object && c.object.name === (cluster.metadata || {}).name) mine = c;
      });
      return { cluster: cluster, stores: stores, explanation: mine, report: report, notes: notes, version: safe(function () { return api.version(); }) };
    });
  }

  function safe(f) { try { return f(); } catch (e) { return null; } }

  // The window of one lineage: the engine's reading, else the store's status directly.
  function recoveryWindow(lineage, stores) {
    if (lineage.objectStore && lineage.objectStore.recoveryWindow) return lineage.objectStore.recoveryWindow;
    var s = lineage.store;
    if (!s || s.kind !== 'objectStore') return null;
    var w = null;
    stores.forEach(function (o) {
      if (w || !o.metadata || o.metadata.name !== s.name) return;
      var all = (o.status && o.status.serverRecoveryWindow) || {};
      w = all[lineage.serverName] || null;
    });
    return w;
  }

  // ------------------------------------------------------------ view

  function row(key, value, extra) {
    return h('div', Object.assign({ className: 'row white-box__details-row' }, extra || {}),
      h('div', { className: 'columns small-3' }, key),
      h('div', { className: 'columns small-9' }, value));
  }

  function box(title, children, extra) {
    return h('div', Object.assign({ className: 'white-box cnpg-guard-box', style: { marginBottom: '1em' } }, extra || {}),
      h('div', { className: 'white-box__details' },
        h('p', { style: { fontWeight: 600, marginBottom: '0.5em' } }, title),
        children));
  }

  function code(text, extra) {
    return h('code', Object.assign({ style: { wordBreak: 'break-all' } }, extra || {}), text);
  }

  function storeText(store) {
    if (!store) return 'none';
    if (store.kind === 'objectStore') return 'ObjectStore ' + (store.namespace ? store.namespace + '/' : '') + store.name;
    if (store.kind === 'inline') return 'inline barmanObjectStore ' + (store.destinationPath || '?');
    return JSON.stringify(store);
  }

  function windowView(w) {
    if (!w) return h('span', { className: 'cnpg-guard-window' }, 'none reported (no backup of this lineage yet, or the store is not readable)');
    return h('span', { className: 'cnpg-guard-window' },
      w.firstRecoverabilityPoint ? ['restorable from ', code(w.firstRecoverabilityPoint, { className: 'cnpg-guard-first-point' })] : 'no recoverability point',
      w.lastSuccessfulBackupTime ? [' · last backup ', code(w.lastSuccessfulBackupTime)] : null,
      w.lastFailedBackupTime ? [' · last failed backup ', code(w.lastFailedBackupTime)] : null);
  }

  function lineageView(l, stores, key) {
    var os = l.objectStore;
    return box(l.roleText || l.role, [
      row('Store', storeText(l.store), { key: 'store' }),
      row('serverName', code(l.serverName || '(none)', { className: 'cnpg-guard-server-name' }), { key: 'server' }),
      row('Comes from', h('span', { className: 'cnpg-guard-origin' }, l.origin || '', l.defaultReason ? ' — ' + l.defaultReason : ''), { key: 'origin' }),
      os && os.location ? row('Location', code(os.location), { key: 'location' }) : null,
      os && os.lineages && os.lineages.length ? row('Lineages in the store', os.lineages.join(', '), { key: 'lineages' }) : null,
      os && os.found === false ? row('ObjectStore', 'not found', { key: 'found' }) : null,
      l.store && l.store.kind === 'objectStore' ? row('Recovery window', windowView(recoveryWindow(l, stores)), { key: 'window' }) : null
    ], { key: key, 'data-role': l.role, className: 'white-box cnpg-guard-box cnpg-guard-lineage' });
  }

  function findingView(f, i) {
    var c = COLORS[f.severity] || COLORS.warn;
    return h('li', {
      key: i,
      className: 'finding cnpg-guard-finding',
      'data-rule': f.rule,
      'data-severity': f.severity,
      style: { listStyle: 'none', borderLeft: '5px solid ' + c.border, background: '#fff', padding: '0.5em 0.75em', margin: '0.5em 0' }
    },
    h('div', null,
      h('span', { style: { color: c.color, background: c.background, border: '1px solid ' + c.border, borderRadius: '3px', padding: '0 0.4em', fontWeight: 700, textTransform: 'uppercase', fontSize: '0.8em' } }, f.severity),
      ' ', code(f.rule), ' ',
      f.object ? h('span', null, ref(f.object), ' ') : null,
      f.path ? code(f.path) : null),
    h('div', { style: { marginTop: '0.3em' } }, f.message),
    f.fix ? h('div', { style: { marginTop: '0.3em' } }, h('strong', null, 'Fix: '), f.fix) : null);
  }

  function drillView(expl, app) {
    var path = sourcePath(app);
    var shown = path || '<path of this application in Git>';
    var next = expl && expl.nextDrill;
    return box('Next recovery drill', [
      next ? h('p', { key: 'next', className: 'cnpg-guard-next' },
        'The archive moves to ', code(next.archiveServerName || '?', { className: 'cnpg-guard-next-archive' }),
        '; the recovery source reads ', code(next.sourceServerName || '?', { className: 'cnpg-guard-next-source' }), '.',
        next.note ? h('span', { style: { display: 'block' } }, next.note) : null)
        : h('p', { key: 'next' }, 'cnpg-guard cannot plan the next lineage for this Cluster (no archive serverName to bump).'),
      h('p', { key: 'how' }, 'Plan it in a checkout of ', code(((app && app.spec && (app.spec.source || (app.spec.sources || [])[0])) || {}).repoURL || 'the repository'),
        ': the first command prints the lockstep diff, the policy verdict and the runbook; the second applies the edits for one commit.'),
      h('pre', { key: 'cmd', className: 'cnpg-guard-commands', style: { whiteSpace: 'pre-wrap', background: '#f1f3f5', padding: '0.75em', borderRadius: '4px' } },
        'kubectl cnpg-plan recovery ' + shown + '\n' +
        'kubectl cnpg-plan recovery ' + shown + ' --write'),
      path ? null : h('p', { key: 'nopath' }, 'This application has no source path (a Helm chart or a plugin source): run the commands on the directory that holds the Cluster.')
    ], { className: 'white-box cnpg-guard-box cnpg-guard-drill' });
  }

  function DisasterRecoveryTab(props) {
    var resource = props.resource;
    var app = props.application;
    var st = React.useState({ phase: 'loading' });
    var state = st[0];
    var setState = st[1];
    var md = (resource && resource.metadata) || {};
    var key = [md.uid, md.resourceVersion, md.name, (app && app.metadata && app.metadata.name) || '',
      ((props.tree && props.tree.nodes) || []).length].join('|');

    React.useEffect(function () {
      var live = true;
      if (!resource || !resource.spec) { setState({ phase: 'error', message: 'This Cluster is not live in the cluster (yet): there is nothing to read.' }); return undefined; }
      setState({ phase: 'loading' });
      engine().then(function (api) { return analyse(api, props); }).then(function (data) {
        if (live) setState({ phase: 'done', data: data });
      }, function (e) {
        if (live) setState({ phase: 'error', message: message(e) });
      });
      return function () { live = false; };
    }, [key]);

    var body;
    if (state.phase === 'loading') {
      body = h('p', { role: 'status' }, 'Checking the Cluster\'s lineages…');
    } else if (state.phase === 'error') {
      body = h('div', { role: 'alert', className: 'cnpg-guard-error', style: { color: COLORS.deny.color, background: COLORS.deny.background, border: '1px solid ' + COLORS.deny.border, padding: '0.75em', borderRadius: '4px' } },
        h('strong', null, 'cnpg-guard: '), state.message);
    } else {
      var d = state.data;
      var e = d.explanation || { bootstrap: [], archive: null, sources: [], nextDrill: null };
      var findings = (d.report && d.report.findings) || [];
      var denies = findings.filter(function (f) { return f.severity === 'deny'; }).length;
      var status = d.cluster.status || {};
      var archiving = null;
      (status.conditions || []).forEach(function (c) { if (c.type === 'ContinuousArchiving') archiving = c; });
      var sum = d.report && d.report.accepted === false ? COLORS.deny : (findings.length ? COLORS.warn : COLORS.ok);
      body = [
        box('Cluster', [
          row('Bootstrap', h('span', { className: 'cnpg-guard-bootstrap' }, e.bootstrap && e.bootstrap.length ? e.bootstrap.join(' + ') : 'initdb (default)'), { key: 'b' }),
          status.phase ? row('Phase', status.phase, { key: 'p' }) : null,
          archiving ? row('WAL archiving', (archiving.status === 'True' ? 'working' : 'failing') + (archiving.message ? ': ' + archiving.message : ''), { key: 'a' }) : null
        ], { key: 'cluster' }),
        e.archive ? lineageView(e.archive, d.stores, 'archive') : box('WAL archive and backups', h('p', null, 'No WAL archive: this Cluster is not backed up by barman.'), { key: 'archive' }),
        (e.moreArchives || []).map(function (l, i) { return lineageView(l, d.stores, 'archive-' + (i + 2)); }),
        (e.sources || []).map(function (l, i) { return lineageView(l, d.stores, 'source-' + i); }),
        box('Findings', [
          h('p', { key: 's', className: 'cnpg-guard-summary', role: 'status', style: { color: sum.color, fontWeight: 600 } },
            findings.length ? (findings.length + ' finding' + (findings.length === 1 ? '' : 's') + (denies ? ', ' + denies + ' would be denied at admission' : '')) : 'No findings.'),
          h('ul', { key: 'l', className: 'cnpg-guard-findings', style: { padding: 0, margin: 0 } }, findings.map(findingView))
        ], { key: 'findings' }),
        h(React.Fragment, { key: 'drill' }, drillView(e, app)),
        d.notes.length ? box('Notes', h('ul', null, d.notes.map(function (n, i) { return h('li', { key: i }, n); })), { key: 'notes' }) : null,
        h('p', { key: 'v', style: { color: '#4a5260', fontSize: '0.85em' } }, 'cnpg-guard ' + (d.version || '') + ' · checked in your browser from the live Cluster and its ObjectStores.')
      ];
    }
    return h('div', { className: 'cnpg-guard-dr', style: { padding: '1em 0' } }, body);
  }

  window.extensionsAPI.registerResourceExtension(DisasterRecoveryTab, 'postgresql.cnpg.io', 'Cluster', 'DR', { icon: 'fa-life-ring' });
})(window);
