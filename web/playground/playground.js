// cnpg-guard playground: a classic script (no modules, so it works from
// file://), no framework, no network. It drives the API that cnpg-guard-web.js
// defines (window.cnpgGuard.ready → {check, checkFiles, explain, rules, version}).
(function () {
  'use strict';

  var DEBOUNCE_MS = 350;
  var LONG_LINK = 32000; // characters; some chat tools and browsers cut longer links

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    manifests: $('manifests'),
    files: $('files'),
    dropzone: $('input-panel'),
    filesBox: $('files-box'),
    fileList: $('file-list'),
    clearFiles: $('clear-files'),
    check: $('check'),
    copyLink: $('copy-link'),
    copyStatus: $('copy-status'),
    shareLink: $('share-link'),
    shareSize: $('share-size'),
    error: $('error'),
    summary: $('summary'),
    results: $('results'),
    lineagePanel: $('lineage-panel'),
    lineage: $('lineage'),
    strict: $('strict-objectstores'),
    scope: $('lineage-scope'),
    exemptions: $('honour-exemptions'),
    extraSettings: $('extra-settings'),
    resetSettings: $('reset-settings'),
    rulesBody: document.querySelector('#rules-table tbody'),
    version: $('version')
  };

  var state = {
    api: null,
    rules: [],
    rulesById: Object.create(null),
    files: [],            // [{name, text}] dropped or chosen files
    extra: {},            // settings from a link the UI has no control for (passed through)
    extraSeverity: {},    // severity overrides for rule ids this engine does not list
    run: 0,
    timer: null,
    pending: false
  };

  // ---------------------------------------------------------------- helpers

  function h(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = v;
        else if (k === 'className') node.className = v;
        else if (k.slice(0, 5) === 'data-' || k.slice(0, 5) === 'aria-' || k === 'role' || k === 'for' || k === 'scope') node.setAttribute(k, v === true ? '' : String(v));
        else node[k] = v;
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : (many || one + 's')); }

  function objectRef(o) {
    if (!o) return '';
    return (o.kind || '?') + ' ' + (o.namespace ? o.namespace + '/' : '') + (o.name || '?');
  }

  function errorMessage(e) {
    if (e === null || e === undefined) return 'unknown error';
    if (typeof e === 'string') return e;
    return e.message || String(e);
  }

  // UTF-8 ⇄ base64url, synchronous.
  function b64urlEncode(str) {
    var bytes = new TextEncoder().encode(str);
    var bin = '';
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function b64urlDecode(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }

  // ---------------------------------------------------------------- errors

  function showError(msg) {
    clear(el.error);
    if (!msg) { el.error.hidden = true; return; }
    el.error.appendChild(h('strong', { text: 'Could not check: ' }));
    el.error.appendChild(document.createTextNode(msg));
    el.error.hidden = false;
  }

  // ---------------------------------------------------------------- settings

  function levelOptions(rule) {
    var opts = ['deny', 'warn'];
    if (rule.mutating || rule.default === 'mutate') opts.push('mutate');
    if (rule.configurable !== false) opts.push('off');
    return opts;
  }

  function renderRules() {
    clear(el.rulesBody);
    state.rules.forEach(function (r) {
      var selectId = 'severity-' + r.id;
      var select = h('select', { id: selectId, name: selectId, 'data-rule': r.id, className: 'level-select' },
        h('option', { value: '', text: 'default (' + r.default + ')' }),
        levelOptions(r).map(function (l) { return h('option', { value: l, text: l }); }));
      select.addEventListener('change', onSettingsChange);
      el.rulesBody.appendChild(h('tr', { id: 'rule-' + r.id, 'data-rule': r.id },
        h('th', { scope: 'row' }, h('code', { text: r.id })),
        h('td', null, h('span', { className: 'level level-' + r.default, text: r.default })),
        h('td', { text: r.kinds || '' }),
        h('td', null,
          h('span', { text: r.summary || '' }),
          r.rationale ? h('details', null, h('summary', { text: 'Why' }), h('p', { text: r.rationale })) : null,
          h('span', { className: 'flags hint', text: [r.mutating ? 'mutating' : '', r.configurable === false ? 'cannot be turned off' : '', r.exemptable === false ? 'not exemptable' : ''].filter(Boolean).join(' · ') })),
        h('td', null,
          h('label', { className: 'visually-hidden', 'for': selectId, text: 'Level for rule ' + r.id }),
          select)));
    });
  }

  function currentSettings() {
    var s = {};
    Object.keys(state.extra).forEach(function (k) { s[k] = state.extra[k]; });
    if (el.strict.checked) s['strict-objectstores'] = true;
    if (el.scope.value) s['lineage-scope'] = el.scope.value;
    if (el.exemptions.value) s['honour-exemptions'] = el.exemptions.value === 'true';
    var sev = {};
    Object.keys(state.extraSeverity).forEach(function (k) { sev[k] = state.extraSeverity[k]; });
    el.rulesBody.querySelectorAll('select.level-select').forEach(function (sel) {
      if (sel.value) sev[sel.getAttribute('data-rule')] = sel.value;
    });
    if (Object.keys(sev).length) s.severity = sev;
    return s;
  }

  function applySettings(s) {
    s = s && typeof s === 'object' ? s : {};
    state.extra = {};
    state.extraSeverity = {};
    el.strict.checked = s['strict-objectstores'] === true;
    el.scope.value = s['lineage-scope'] === 'namespace' || s['lineage-scope'] === 'cluster' ? s['lineage-scope'] : '';
    el.exemptions.value = s['honour-exemptions'] === true ? 'true' : s['honour-exemptions'] === false ? 'false' : '';
    el.rulesBody.querySelectorAll('select.level-select').forEach(function (sel) { sel.value = ''; });
    var sev = s.severity && typeof s.severity === 'object' ? s.severity : {};
    Object.keys(sev).forEach(function (id) {
      var sel = $('severity-' + id);
      var ok = sel && Array.prototype.some.call(sel.options, function (o) { return o.value === sev[id]; });
      if (ok) sel.value = sev[id];
      else state.extraSeverity[id] = sev[id]; // the engine reports what is wrong with it
    });
    Object.keys(s).forEach(function (k) {
      if (['strict-objectstores', 'lineage-scope', 'honour-exemptions', 'severity'].indexOf(k) < 0) state.extra[k] = s[k];
    });
    var extraKeys = Object.keys(state.extra).concat(Object.keys(state.extraSeverity).map(function (id) { return 'severity.' + id; }));
    el.extraSettings.hidden = extraKeys.length === 0;
    el.extraSettings.textContent = extraKeys.length ? 'The link also sets: ' + extraKeys.join(', ') + ' (kept; Reset settings drops them).' : '';
  }

  function onSettingsChange() { checkNow(); }

  // ---------------------------------------------------------------- files

  function renderFiles() {
    clear(el.fileList);
    el.filesBox.hidden = state.files.length === 0;
    state.files.forEach(function (f, i) {
      var remove = h('button', { type: 'button', className: 'secondary small', text: 'Remove', 'aria-label': 'Remove file ' + f.name });
      remove.addEventListener('click', function () {
        state.files.splice(i, 1);
        renderFiles();
        checkNow();
        (el.fileList.querySelector('button') || el.files).focus();
      });
      el.fileList.appendChild(h('li', null, h('code', { text: f.name }), ' ', h('span', { className: 'hint', text: '(' + plural(f.text.split('\n').length, 'line') + ')' }), ' ', remove));
    });
  }

  function addFiles(list) {
    var files = Array.prototype.slice.call(list || []);
    if (!files.length) return;
    Promise.all(files.map(function (file) {
      return file.text().then(function (text) { return { name: file.name, text: text }; });
    })).then(function (read) {
      read.forEach(function (f) {
        var at = -1;
        state.files.forEach(function (g, i) { if (g.name === f.name) at = i; });
        if (at >= 0) state.files[at] = f; else state.files.push(f);
      });
      renderFiles();
      checkNow();
    }, function (e) { showError('could not read the file: ' + errorMessage(e)); });
  }

  // ---------------------------------------------------------------- share link

  function fragment() {
    var parts = [];
    var text = el.manifests.value;
    if (text) parts.push('m=' + b64urlEncode(text));
    if (state.files.length) parts.push('f=' + b64urlEncode(JSON.stringify(state.files)));
    var s = currentSettings();
    if (Object.keys(s).length) parts.push('s=' + b64urlEncode(JSON.stringify(s)));
    return parts.join('&');
  }

  function updateShareLink() {
    var frag = fragment();
    var base = location.href.split('#')[0];
    var href = frag ? base + '#' + frag : base;
    el.shareLink.href = href;
    el.shareLink.textContent = frag ? (href.length > 120 ? href.slice(0, 100) + '…' + href.slice(-16) : href) : 'no manifests yet';
    el.shareSize.textContent = frag ? '(' + href.length + ' characters' + (href.length > LONG_LINK ? '; long links may be cut by chat tools' : '') + ')' : '';
    try {
      if (location.hash.slice(1) !== frag) history.replaceState(null, '', frag ? '#' + frag : base);
    } catch (e) { /* some file:// setups refuse; the link element still has it */ }
    return href;
  }

  function loadFragment() {
    var hash = location.hash.replace(/^#/, '');
    if (!hash) return false;
    var params = new URLSearchParams(hash);
    try {
      var m = params.get('m');
      var f = params.get('f');
      var s = params.get('s');
      el.manifests.value = m ? b64urlDecode(m) : '';
      state.files = [];
      if (f) {
        var files = JSON.parse(b64urlDecode(f));
        if (!Array.isArray(files)) throw new Error('files are not a list');
        state.files = files.filter(function (x) { return x && typeof x.name === 'string' && typeof x.text === 'string'; });
      }
      applySettings(s ? JSON.parse(b64urlDecode(s)) : {});
      renderFiles();
      return true;
    } catch (e) {
      showError('the link could not be decoded (' + errorMessage(e) + '); was it cut?');
      return false;
    }
  }

  function copyLink() {
    var href = updateShareLink();
    var done = function () { el.copyStatus.textContent = 'Link copied.'; };
    var fallback = function () {
      // Clipboard API refused (file://, permissions): select the link text for Ctrl+C.
      var input = h('input', { type: 'text', value: href, readOnly: true, className: 'copy-fallback', 'aria-label': 'Share link' });
      el.copyStatus.textContent = '';
      el.copyStatus.parentNode.appendChild(input);
      input.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      el.copyStatus.textContent = ok ? 'Link copied.' : 'Press Ctrl+C (⌘C) to copy the selected link.';
      if (ok) input.remove(); else input.focus();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(href).then(done, fallback);
    else fallback();
  }

  // ---------------------------------------------------------------- rendering

  function renderFinding(f) {
    var rule = state.rulesById[f.rule];
    var loc = f.file ? f.file + (f.line ? ':' + f.line : '') : (f.line ? 'line ' + f.line : '');
    return h('li', { className: 'finding finding-' + f.severity, 'data-rule': f.rule, 'data-severity': f.severity },
      h('div', { className: 'finding-head' },
        h('span', { className: 'level level-' + f.severity, text: f.severity }),
        ' ',
        h('code', { className: 'rule', text: f.rule }),
        ' ',
        f.path ? h('code', { className: 'path', text: f.path }) : null,
        loc ? h('span', { className: 'loc', text: ' ' + loc }) : null),
      h('p', { className: 'message', text: f.message || f.text || '' }),
      f.fix ? h('p', { className: 'fix' }, h('strong', { text: 'Fix: ' }), f.fix) : null,
      rule && rule.rationale ? h('details', { className: 'rationale' },
        h('summary', { text: 'Why ' + f.rule + ' matters' }),
        rule.summary ? h('p', { className: 'rule-summary', text: rule.summary }) : null,
        h('p', { text: rule.rationale })) : null);
  }

  function renderReport(report) {
    clear(el.results);
    var findings = report.findings || [];
    var denies = findings.filter(function (f) { return f.severity === 'deny'; }).length;
    var warns = findings.length - denies;
    var objects = report.objects || 0;

    var summary = plural(objects, 'object') + ' checked · ' + (report.deniedObjects || 0) + ' denied · ' +
      plural(denies, 'deny finding') + ' · ' + plural(warns, 'warning');
    summary += report.accepted === false ? ' — would be rejected at admission' : ' — would be admitted';
    if (report.complete === false) summary += ' (incomplete: see the notes)';
    el.summary.textContent = summary;
    el.summary.className = report.accepted === false ? 'summary-denied' : (warns ? 'summary-warn' : 'summary-ok');

    // Group by object, keeping the report's order (deny first).
    var groups = [];
    var byKey = Object.create(null);
    findings.forEach(function (f) {
      var key = f.object ? [f.object.apiVersion, f.object.kind, f.object.namespace, f.object.name].join('|') : '';
      if (!byKey[key]) { byKey[key] = { object: f.object, findings: [] }; groups.push(byKey[key]); }
      byKey[key].findings.push(f);
    });

    if (!findings.length) {
      el.results.appendChild(h('p', { className: 'no-findings', text: objects ? 'No findings: nothing here breaks a recovery that cnpg-guard knows of.' : 'No Kubernetes objects found in the input.' }));
    }
    groups.forEach(function (g, i) {
      var deny = g.findings.some(function (f) { return f.severity === 'deny'; });
      el.results.appendChild(h('section', { className: 'object' + (deny ? ' object-denied' : ''), 'aria-labelledby': 'object-' + i },
        h('h3', { id: 'object-' + i }, g.object ? objectRef(g.object) : 'Input', ' ',
          h('span', { className: 'hint', text: '(' + plural(g.findings.length, 'finding') + ')' })),
        h('ul', { className: 'findings' }, g.findings.map(renderFinding))));
    });

    if ((report.mutated || []).length) {
      el.results.appendChild(h('section', { className: 'extra', 'aria-labelledby': 'mutated-heading' },
        h('h3', { id: 'mutated-heading', text: 'Mutated at admission' }),
        h('p', { className: 'hint', text: 'The policy would change these objects (e.g. drop a file-level backup label from a CNPG PVC):' }),
        h('ul', { className: 'mutated' }, report.mutated.map(function (o) { return h('li', { className: 'mutated-object', text: objectRef(o) }); }))));
    }
    if ((report.exemptions || []).length) {
      el.results.appendChild(h('section', { className: 'extra', 'aria-labelledby': 'exemptions-heading' },
        h('h3', { id: 'exemptions-heading', text: 'Exemptions' }),
        h('ul', null, report.exemptions.map(function (x) {
          return h('li', { text: typeof x === 'string' ? x : (x.text || [x.rule, objectRef(x.object), x.reason].filter(Boolean).join(' — ') || JSON.stringify(x)) });
        }))));
    }
    if ((report.notes || []).length) {
      el.results.appendChild(h('section', { className: 'extra', 'aria-labelledby': 'notes-heading' },
        h('h3', { id: 'notes-heading', text: 'Notes' }),
        h('ul', null, report.notes.map(function (n) { return h('li', { text: typeof n === 'string' ? n : (n.text || n.message || JSON.stringify(n)) }); }))));
    }
    if ((report.units || []).length > 1) {
      el.results.appendChild(h('p', { className: 'hint units', text: 'Inputs: ' + report.units.map(function (u) { return u.label + ' (' + plural(u.objects || 0, 'object') + ')'; }).join(', ') }));
    }
  }

  function storeText(store) {
    if (!store) return 'none';
    if (store.kind === 'objectStore') return 'ObjectStore ' + (store.namespace ? store.namespace + '/' : '') + store.name;
    if (store.kind === 'inline') return 'inline barmanObjectStore ' + (store.destinationPath || '?') + (store.endpointURL ? ' (' + store.endpointURL + ')' : '');
    return JSON.stringify(store);
  }

  function windowText(w) {
    if (!w) return null;
    var parts = [];
    if (w.firstRecoverabilityPoint) parts.push('restorable from ' + w.firstRecoverabilityPoint);
    if (w.lastSuccessfulBackupTime) parts.push('last backup ' + w.lastSuccessfulBackupTime);
    if (w.lastFailedBackupTime) parts.push('last failed backup ' + w.lastFailedBackupTime);
    return parts.join(' · ');
  }

  function renderLineage(l) {
    var os = l.objectStore;
    var rows = [
      ['Store', storeText(l.store)],
      ['serverName', h('code', { className: 'server-name', text: l.serverName || '(none)' })],
      ['Comes from', h('span', { className: 'origin' }, l.origin || (l.explicit === false ? 'default' : ''), l.defaultReason ? ' — ' + l.defaultReason : '')]
    ];
    if (os) {
      if (os.found === false) rows.push(['ObjectStore', 'not in these manifests']);
      else {
        if (os.location) rows.push(['Location', h('code', { text: os.location })]);
        if (os.lineages && os.lineages.length) rows.push(['Lineages in the store', os.lineages.join(', ')]);
        var wt = windowText(os.recoveryWindow);
        if (wt) rows.push(['Recovery window', h('span', { className: 'recovery-window', text: wt })]);
      }
    }
    return h('div', { className: 'lineage lineage-' + l.role, 'data-role': l.role },
      h('h4', { text: l.roleText || l.role }),
      h('dl', null, rows.map(function (r) { return [h('dt', { text: r[0] }), h('dd', null, r[1])]; })));
  }

  function renderExplanation(expl) {
    clear(el.lineage);
    var clusters = (expl && expl.clusters) || [];
    el.lineagePanel.hidden = clusters.length === 0;
    clusters.forEach(function (c, i) {
      var boot = c.bootstrap && c.bootstrap.length ? c.bootstrap.join(' + ') : 'initdb (default: no bootstrap section)';
      var card = h('article', { className: 'card lineage-card', 'aria-labelledby': 'lineage-' + i, 'data-cluster': (c.object.namespace || '') + '/' + c.object.name },
        h('h3', { id: 'lineage-' + i, text: objectRef(c.object) }),
        h('p', null, h('strong', { text: 'Bootstrap: ' }), h('span', { className: 'bootstrap', text: boot })),
        c.archive ? renderLineage(c.archive) : h('p', { className: 'hint', text: 'No WAL archive: this Cluster is not backed up by barman.' }),
        (c.moreArchives || []).map(renderLineage),
        (c.sources || []).map(renderLineage));
      if (c.nextDrill) {
        card.appendChild(h('div', { className: 'next-drill' },
          h('h4', { text: 'Next recovery drill' }),
          h('p', null, 'Archive moves to ', h('code', { className: 'server-name', text: c.nextDrill.archiveServerName || '?' }),
            ', the recovery source reads ', h('code', { className: 'server-name', text: c.nextDrill.sourceServerName || '?' }), '.'),
          c.nextDrill.note ? h('p', { className: 'hint', text: c.nextDrill.note }) : null));
      }
      el.lineage.appendChild(card);
    });
  }

  // ---------------------------------------------------------------- checking

  function checkNow() {
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    if (!state.api) { state.pending = true; return; }
    var t0 = performance.now();
    var text = el.manifests.value;
    var settings = currentSettings();
    var hasSettings = Object.keys(settings).length > 0;
    updateShareLink();
    el.results.setAttribute('aria-busy', 'true');
    try {
      if (!text.trim() && !state.files.length) {
        showError(null);
        clear(el.results);
        clear(el.lineage);
        el.lineagePanel.hidden = true;
        el.summary.className = '';
        el.summary.textContent = 'Paste manifests or add files to check them.';
        return;
      }
      var report, stream;
      try {
        if (state.files.length) {
          var units = state.files.slice();
          if (text.trim()) units.push({ name: 'pasted', text: text });
          report = hasSettings ? state.api.checkFiles(units, settings) : state.api.checkFiles(units);
          stream = units.map(function (u) { return '---\n' + u.text; }).join('\n');
        } else {
          report = hasSettings ? state.api.check(text, settings) : state.api.check(text);
          stream = text;
        }
      } catch (e) {
        showError(errorMessage(e));
        clear(el.results);
        clear(el.lineage);
        el.lineagePanel.hidden = true;
        el.summary.className = 'summary-error';
        el.summary.textContent = 'Not checked: see the error above.';
        return;
      }
      showError(null);
      renderReport(report);
      try {
        renderExplanation(state.api.explain(stream));
      } catch (e) {
        clear(el.lineage);
        el.lineagePanel.hidden = false;
        el.lineage.appendChild(h('p', { className: 'hint', text: 'No lineage view: ' + errorMessage(e) }));
      }
    } finally {
      el.results.setAttribute('aria-busy', 'false');
      state.run += 1;
      el.summary.setAttribute('data-run', String(state.run));
      el.summary.setAttribute('data-ms', (performance.now() - t0).toFixed(1));
    }
  }

  function schedule() {
    if (state.timer) clearTimeout(state.timer);
    state.timer = setTimeout(checkNow, DEBOUNCE_MS);
  }

  // ---------------------------------------------------------------- wiring

  el.manifests.addEventListener('input', schedule);
  el.check.addEventListener('click', checkNow);
  el.copyLink.addEventListener('click', copyLink);
  el.strict.addEventListener('change', onSettingsChange);
  el.scope.addEventListener('change', onSettingsChange);
  el.exemptions.addEventListener('change', onSettingsChange);
  el.resetSettings.addEventListener('click', function () { applySettings({}); checkNow(); });
  el.files.addEventListener('change', function () { addFiles(el.files.files); el.files.value = ''; });
  el.clearFiles.addEventListener('click', function () { state.files = []; renderFiles(); checkNow(); el.files.focus(); });
  // Ctrl+Enter in the text area checks at once.
  el.manifests.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); checkNow(); }
  });

  ['dragenter', 'dragover'].forEach(function (type) {
    el.dropzone.addEventListener(type, function (ev) {
      if (!ev.dataTransfer || Array.prototype.indexOf.call(ev.dataTransfer.types || [], 'Files') < 0) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
      el.dropzone.classList.add('dragging');
    });
  });
  ['dragleave', 'drop'].forEach(function (type) {
    el.dropzone.addEventListener(type, function () { el.dropzone.classList.remove('dragging'); });
  });
  el.dropzone.addEventListener('drop', function (ev) {
    if (!ev.dataTransfer || !ev.dataTransfer.files || !ev.dataTransfer.files.length) return;
    ev.preventDefault();
    addFiles(ev.dataTransfer.files);
  });

  window.addEventListener('hashchange', function () {
    if (location.hash.slice(1) === fragment()) return;
    if (loadFragment()) checkNow();
  });

  var fromLink = loadFragment();
  if (fromLink) state.pending = true;
  updateShareLink();

  var guard = window.cnpgGuard;
  if (!guard || !guard.ready || typeof guard.ready.then !== 'function') {
    el.summary.textContent = 'Not available.';
    showError('the rules engine (cnpg-guard-web.js) did not load: it must sit next to index.html (cargo xtask web builds both).');
    return;
  }
  guard.ready.then(function (api) {
    state.api = api;
    try {
      state.rules = api.rules() || [];
    } catch (e) {
      state.rules = [];
      showError('could not list the rules: ' + errorMessage(e));
    }
    state.rules.forEach(function (r) { state.rulesById[r.id] = r; });
    try { el.version.textContent = api.version(); } catch (e) { el.version.textContent = '?'; }
    // Re-apply link settings now that the per-rule selects exist.
    var linkSettings = currentSettings();
    renderRules();
    applySettings(linkSettings);
    el.summary.textContent = 'Paste manifests or add files to check them.';
    if (state.pending || el.manifests.value || state.files.length) checkNow();
  }, function (e) {
    el.summary.textContent = 'Not available.';
    showError('the rules engine failed to start: ' + errorMessage(e));
  });
})();
