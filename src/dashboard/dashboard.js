// Samlet operations dashboard: polls /dashboard/data every 2 s and renders it.
// No libraries; charts are small inline SVGs. Numbers a test may read sit in
// elements with data-metric="<name>": the text is for people, data-value holds
// the raw value from the JSON ("" when null).
'use strict';
(() => {
  const DATA_URL = '/dashboard/data';
  const POLL_MS = 2000;
  const TIMEOUT_MS = 5000;
  const STATUSES = ['up', 'degraded', 'down'];
  const CHANNEL_METRICS = [
    ['requests', 'requests'],
    ['recognised_customers', 'recognised customers'],
    ['wishlist_adds', 'wishlist adds'],
    ['offers_created', 'offers created'],
    ['offers_converted', 'offers converted'],
    ['click_and_collect_reservations', 'click & collect'],
    ['orders_placed', 'orders placed'],
  ];

  const $ = (id) => document.getElementById(id);
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const int = (v) => (isNum(v) ? String(Math.round(v)) : '—');
  const ms = (v) => (isNum(v) ? String(Number(v.toFixed(1))) : '—');
  const pct = (v, d = 1) => (isNum(v) ? (v * 100).toFixed(d) : '—');
  const ratio = (a, b) => (b > 0 ? a / b : null);

  // <span data-metric> with display text, raw value and an optional unit after it.
  function metric(name, raw, text, unit = '') {
    const u = unit && text !== '—' ? `<span class="unit">${unit}</span>` : '';
    return `<span class="num" data-metric="${name}" data-value="${isNum(raw) ? raw : ''}">${esc(text)}</span>${u}`;
  }

  // Sparkline: line + area of `values`; optional `errors` overlaid as red bars.
  function spark(values, { errors = null, label = '', w = 120, h = 30 } = {}) {
    const vals = (values || []).map((v) => (isNum(v) ? v : 0));
    const n = vals.length;
    const attrs = `class="spark" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}"`;
    if (!n) return `<svg ${attrs}></svg>`;
    const max = Math.max(1, ...vals);
    const pad = 2;
    const x = (i) => (n === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (n - 1));
    const y = (v) => h - 1 - (v / max) * (h - 3);
    const pts = vals.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    let svg = `<polygon class="area" points="${x(0).toFixed(1)},${h} ${pts} ${x(n - 1).toFixed(1)},${h}"/>`;
    svg += `<polyline class="line" points="${pts}"/>`;
    (errors || []).forEach((e, i) => {
      if (!isNum(e) || e <= 0 || i >= n) return;
      const bh = Math.max(2, (e / max) * (h - 3));
      const bw = Math.max(1.5, (w - 2 * pad) / n / 2);
      svg += `<rect class="err" x="${(x(i) - bw / 2).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}"/>`;
    });
    return `<svg ${attrs}>${svg}</svg>`;
  }

  // Horizontal bar of parts [{value, cls}] stacked left to right, out of `total`.
  function hbar(parts, total, label) {
    let x = 0;
    const rects = parts.map(({ value, cls }) => {
      const wid = total > 0 ? (Math.max(0, value) / total) * 100 : 0;
      const r = `<rect class="${cls}" x="${x.toFixed(2)}" y="0" width="${wid.toFixed(2)}" height="10"/>`;
      x += wid;
      return r;
    }).join('');
    return `<svg class="hbar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${esc(label)}"><rect class="track" width="100" height="10"/>${rects}</svg>`;
  }

  const shown = new WeakMap(); // element -> HTML last rendered into it
  function setHTML(el, html) {
    if (shown.get(el) !== html) { el.innerHTML = html; shown.set(el, html); }
  }

  // Find or create the keyed child of `box`, keep it in data order, set its HTML if changed.
  function upsert(box, attr, key, tag, cls, html, seen) {
    let el = [...box.children].find((c) => c.getAttribute(attr) === key);
    if (!el) {
      el = document.createElement(tag);
      el.className = cls;
      el.setAttribute(attr, key);
    }
    box.appendChild(el);
    setHTML(el, html);
    seen.add(el);
    return el;
  }
  function prune(box, seen) {
    [...box.children].forEach((c) => { if (!seen.has(c)) c.remove(); });
  }

  function systemTile(s) {
    const lat = s.latency_ms || {};
    const caps = (s.capabilities || []).map((c) => `<li>${esc(c)}</li>`).join('');
    const breaker = ['closed', 'open', 'half-open'].includes(s.breaker) ? s.breaker : 'unknown';
    const hr = s.rate_limit_headroom;
    const quota = isNum(s.quota_per_second) && isNum(hr)
      ? `<span>${metric('rate_limit_headroom', hr, pct(hr, 0), '%')} <span class="muted">of ${esc(s.quota_per_second)}/s</span></span>
         ${hbar([{ value: hr, cls: hr < 0.2 ? 'bad' : hr < 0.5 ? 'warn' : 'good' }], 1, `headroom ${pct(hr, 0)}%`)}`
      : `<span class="num muted" data-metric="rate_limit_headroom" data-value="">no quota</span>`;
    const s15 = s.series || {};
    const calls = s15.calls || [];
    const errs = s15.errors || [];
    const sum = (a) => a.reduce((t, v) => t + (isNum(v) ? v : 0), 0);
    return `
      <header><h3>${esc(s.name)}</h3><span class="status">${esc(s.status)}</span></header>
      <p class="kind"><span class="vendor">${esc(s.kind)}</span></p>
      <ul class="caps" aria-label="capabilities">${caps}</ul>
      <dl class="kv">
        <div><dt>p50</dt><dd>${metric('p50', lat.p50, ms(lat.p50), 'ms')}</dd></div>
        <div><dt>p99</dt><dd>${metric('p99', lat.p99, ms(lat.p99), 'ms')}</dd></div>
        <div><dt>error rate</dt><dd class="${s.error_rate >= 0.05 ? 'bad' : s.error_rate > 0 ? 'warn' : ''}">${metric('error_rate', s.error_rate, pct(s.error_rate), '%')}</dd></div>
        <div><dt>breaker</dt><dd><span class="breaker b-${breaker}" data-metric="breaker" data-value="${esc(s.breaker)}">${esc(s.breaker ?? '—')}</span></dd></div>
        <div><dt>cache hits</dt><dd>${metric('cache_hit_ratio', s.cache_hit_ratio, pct(s.cache_hit_ratio, 0), '%')}</dd></div>
        <div><dt>in flight</dt><dd>${metric('in_flight', s.in_flight, int(s.in_flight))}</dd></div>
      </dl>
      <div class="quota"><span class="lbl">rate-limit headroom</span> ${quota}</div>
      <figure class="trend">
        ${spark(calls, { errors: errs, label: `calls per minute, last 15 minutes: ${sum(calls)} calls, ${sum(errs)} errors` })}
        <figcaption>${metric('calls', s.calls, int(s.calls))} calls · ${metric('errors', s.errors, int(s.errors))} errors</figcaption>
      </figure>`;
  }

  function channelCard(c) {
    const series = c.series || {};
    const rows = CHANNEL_METRICS.map(([key, label]) => `
      <div class="row"><dt>${label}</dt><dd>${metric(key, c[key], int(c[key]))}</dd>
        <dd class="sp">${spark(series[key], { label: `${label} per minute, last hour`, w: 180, h: 22 })}</dd></div>`).join('');
    const share = ratio(c.recognised_requests, (c.recognised_requests || 0) + (c.anonymous_requests || 0));
    return `<header><h3>${esc(c.channel)}</h3><span class="muted">${pct(share, 0)}${share === null ? '' : '%'} recognised</span></header>
      <dl class="series">${rows}</dl>`;
  }

  function shareRow(c) {
    const rec = c.recognised_requests || 0;
    const anon = c.anonymous_requests || 0;
    const share = ratio(rec, rec + anon);
    return `<span class="name">${esc(c.channel)}</span>
      ${hbar([{ value: rec, cls: 'rec' }, { value: anon, cls: 'anon' }], rec + anon, `${esc(c.channel)}: ${rec} recognised, ${anon} anonymous`)}
      <span class="pct">${metric('recognised_share', share, pct(share, 0), '%')}</span>
      <span class="counts muted">${metric('recognised_requests', rec, int(rec))} / ${metric('anonymous_requests', anon, int(anon))}</span>`;
  }

  function conversion(j, channels) {
    const created = j.offers_created || 0;
    const converted = j.offers_converted || 0;
    const rate = j.store_to_home_conversion;
    const max = Math.max(1, ...channels.map((c) => c.offers_created || 0), ...channels.map((c) => c.offers_converted || 0));
    const perChannel = channels.filter((c) => (c.offers_created || 0) + (c.offers_converted || 0) > 0).map((c) => `
      <li><span class="name">${esc(c.channel)}</span>
        <span class="pair">${hbar([{ value: c.offers_created || 0, cls: 'created' }], max, `${c.channel}: ${c.offers_created || 0} offers created`)}
        ${hbar([{ value: c.offers_converted || 0, cls: 'converted' }], max, `${c.channel}: ${c.offers_converted || 0} offers converted`)}</span>
        <span class="counts muted">${int(c.offers_created)} / ${int(c.offers_converted)}</span></li>`).join('');
    return `<p class="big">${metric('store_to_home_conversion', rate, pct(rate), '%')}</p>
      <p class="muted">of offers created in store were converted at home</p>
      <dl class="kv two">
        <div><dt>offers created</dt><dd>${metric('journey_offers_created', j.offers_created, int(created))}</dd></div>
        <div><dt>offers converted</dt><dd>${metric('journey_offers_converted', j.offers_converted, int(converted))}</dd></div>
      </dl>
      ${hbar([{ value: converted, cls: 'converted' }, { value: Math.max(0, created - converted), cls: 'created' }], Math.max(created, converted), `${converted} of ${created} offers converted`)}
      ${perChannel ? `<h4>By channel <small>created / converted</small></h4><ul class="pairs">${perChannel}</ul>` : ''}
      <p class="legend"><i class="sw created"></i>created <i class="sw converted"></i>converted</p>`;
  }

  function render(d) {
    const systems = Array.isArray(d.systems) ? d.systems : [];
    const channels = Array.isArray(d.channels) ? d.channels : [];
    let seen = new Set();
    const box = $('systems');
    systems.forEach((s) => {
      const el = upsert(box, 'data-system', String(s.name), 'article', 'tile', systemTile(s), seen);
      el.dataset.status = STATUSES.includes(s.status) ? s.status : 'down';
      el.setAttribute('aria-label', `${s.name}: ${s.status}`);
    });
    prune(box, seen);

    seen = new Set();
    const cbox = $('channels');
    channels.forEach((c) => upsert(cbox, 'data-channel', String(c.channel), 'article', 'channel', channelCard(c), seen));
    prune(cbox, seen);

    seen = new Set();
    const sbox = $('shares');
    channels.forEach((c) => upsert(sbox, 'data-share-for', String(c.channel), 'li', 'share', shareRow(c), seen));
    prune(sbox, seen);

    setHTML($('conversion'), conversion(d.journeys || {}, channels));

    const count = (st) => systems.filter((s) => s.status === st).length;
    const worst = STATUSES.slice().reverse().find((st) => count(st) > 0) || 'up';
    const reqs = channels.reduce((t, c) => t + (c.requests || 0), 0);
    $('summary').innerHTML = `<b class="st-${worst}">${systems.length} system${systems.length === 1 ? '' : 's'}</b>: ` +
      STATUSES.map((st) => `<span class="st-${st}">${count(st)} ${st}</span>`).join(' · ') +
      ` — ${reqs} requests in the last hour`;
    document.body.dataset.health = worst;
  }

  let lastOk = null;
  function showUpdated() {
    if (!lastOk) return;
    const t = $('updated');
    const age = Math.round((Date.now() - lastOk.at) / 1000);
    t.textContent = lastOk.at.toLocaleTimeString([], { hour12: false }) + (age >= 5 ? ` (${age} s ago)` : '');
    t.setAttribute('datetime', lastOk.generated || lastOk.at.toISOString());
  }

  function setConnection(ok) {
    $('banner').hidden = ok;
    $('banner').textContent = lastOk
      ? 'Connection lost: showing the last data received. Retrying every 2 seconds…'
      : 'Cannot reach the gateway yet. Retrying every 2 seconds…';
    document.body.dataset.connection = ok ? 'ok' : 'lost';
  }

  async function poll() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(DATA_URL, { credentials: 'same-origin', cache: 'no-store', signal: ctl.signal, headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      render(data);
      lastOk = { at: new Date(), generated: data.generated_at };
      setConnection(true);
      showUpdated();
      document.body.dataset.loaded = 'true';
    } catch (err) {
      console.warn('dashboard: update failed:', err);
      setConnection(false);
      if (!lastOk) $('summary').textContent = 'Waiting for data…';
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  setInterval(showUpdated, 1000);
  poll();
})();
