// ballotflow's election dashboard: the board's snapshot, then its frames over Server-Sent
// Events (one per closed frontier), and the engine's figures every second. Every result on
// the page is as of `state.frontier`. Text from the data is escaped before it is shown.
"use strict";

const state = { id: 0, frontier: 0, tables: {}, counts: {}, sizes: {}, retracted: [], lastFrameAt: Date.now(), engine: null, rates: [], connected: false };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (n) => (n == null ? "–" : Number(n).toLocaleString("en-GB"));
const pct = (x) => (x == null || !isFinite(x) ? "–" : x.toFixed(1) + "%");
const rows = (table) => Array.from((state.tables[table] || new Map()).values());
const hhmm = (ms) => (ms == null ? "–" : new Date(ms).toISOString().slice(11, 16) + " UTC");

// A party's colour: a hue from its name, the same on every page.
function colour(name) {
  let h = 0;
  for (const c of String(name)) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 62% 48%)`;
}
const initials = (name) => String(name).split(/\s+/).filter(Boolean).map((w) => w[0]).slice(0, 2).join("").toUpperCase();

function load(snapshot) {
  state.id = snapshot.id;
  state.frontier = snapshot.frontier;
  state.tables = {};
  for (const [table, list] of Object.entries(snapshot.tables)) {
    state.tables[table] = new Map(list.map(({ key, row }) => [JSON.stringify(key), row]));
  }
  state.counts = snapshot.counts || {};
  state.sizes = snapshot.sizes || {};
  state.retracted = snapshot.retracted || [];
  state.lastFrameAt = Date.now();
}

function apply(frame) {
  for (const { table, key, row } of frame.changes) {
    const map = state.tables[table] || (state.tables[table] = new Map());
    const k = JSON.stringify(key);
    if (row === null) {
      const old = map.get(k);
      if (old !== undefined) {
        map.delete(k);
        state.retracted.push({ table, row: old });
        if (state.retracted.length > 200) state.retracted.shift();
      }
    } else {
      map.set(k, row);
    }
  }
  Object.assign(state.counts, frame.counts);
  state.sizes = frame.sizes;
  state.id = frame.id;
  state.frontier = frame.frontier;
  state.lastFrameAt = Date.now();
}

function bars(el, items, total) {
  const max = Math.max(1, ...items.map((i) => i.value));
  el.innerHTML = items.length
    ? items.map((i) => `<div class="bar"><span class="label" title="${esc(i.label)}">${esc(i.label)}</span>
        <span class="track"><span class="fill" style="width:${(100 * i.value / max).toFixed(2)}%;background:${i.colour || "var(--accent)"}"></span></span>
        <span class="value"><b>${fmt(i.value)}</b>${total ? " · " + pct(100 * i.value / total) : ""}</span></div>`).join("")
    : `<div class="empty">no votes yet</div>`;
}

function table(el, head, body, cls = () => "") {
  el.innerHTML = `<thead><tr>${head.map((h) => `<th class="${h.num ? "num" : ""}">${esc(h.label)}</th>`).join("")}</tr></thead>
    <tbody>${body.map((r) => `<tr class="${cls(r)}">${head.map((h) => `<td class="${h.num ? "num" : ""}">${esc(h.value(r))}</td>`).join("")}</tr>`).join("")}</tbody>`;
}

function header() {
  const candidates = rows("results_votes_per_candidate");
  const counted = candidates.reduce((s, c) => s + c.votes, 0);
  const registered = rows("results_turnout_by_region").reduce((s, r) => s + r.registered_voters, 0);
  $("as-of").textContent = state.frontier === null ? "final" : hhmm(state.frontier);
  $("counted").textContent = fmt(counted);
  $("counted").dataset.votes = counted;
  $("turnout").textContent = registered ? pct(100 * counted / registered) : "–";
  const failing = rows("data_quality").filter((q) => !q.passed).length;
  $("checks").textContent = rows("data_quality").length ? (failing ? `${failing} failing` : "all pass") : "–";
  $("checks").style.color = failing ? "var(--bad)" : "";
  return { candidates, counted, registered };
}

function status() {
  const el = $("status");
  const e = state.engine;
  let s = "live";
  if (!state.connected) s = "disconnected";
  else if (state.frontier === null) s = "complete";
  else if (Date.now() - state.lastFrameAt > 15000) s = "stalled";
  else if (e && e.max_event_ms != null && state.frontier != null && e.max_event_ms - state.frontier > 10 * 60000) s = "catching up";
  el.textContent = s;
  el.className = "pill " + s.replace(" ", "-");
  const ago = Math.round((Date.now() - state.lastFrameAt) / 1000);
  $("updated").textContent = ago < 2 ? "just now" : `${ago}s ago`;
}

function race({ candidates, counted, registered }) {
  const sorted = candidates.slice().sort((a, b) => b.votes - a.votes || a.candidate_name.localeCompare(b.candidate_name));
  const leader = sorted[0];
  const el = $("leader");
  if (!leader || counted === 0) {
    el.innerHTML = `<div class="empty">waiting for the first counted vote</div>`;
  } else {
    const margin = leader.votes - (sorted[1] ? sorted[1].votes : 0);
    const outstanding = Math.max(0, registered - counted);
    const decided = registered > 0 && margin > outstanding;
    el.innerHTML = `<div class="avatar" style="background:${colour(leader.party_affiliation)}">${esc(initials(leader.candidate_name))}</div>
      <div><div class="name" id="leader-name">${esc(leader.candidate_name)}<span class="badge ${decided ? "decided" : "open"}">${decided ? "DECIDED" : "LEADING"}</span></div>
      <div class="party">${esc(leader.party_affiliation)}</div>
      <div class="big">${fmt(leader.votes)} <small>${pct(100 * leader.votes / counted)}</small></div>
      <div class="margin">lead ${fmt(margin)} · registered voters not yet counted ${fmt(outstanding)}</div></div>`;
  }
  bars($("candidates"), sorted.map((c) => ({ label: `${c.candidate_name} (${c.party_affiliation})`, value: c.votes, colour: colour(c.party_affiliation) })), counted);
  $("candidates").querySelectorAll(".bar").forEach((b, i) => (b.dataset.candidate = sorted[i].candidate_id));
  const parties = rows("results_votes_per_party").sort((a, b) => b.votes - a.votes);
  bars($("parties"), parties.map((p) => ({ label: p.party_affiliation, value: p.votes, colour: colour(p.party_affiliation) })), counted);
  hours();
}

function hours() {
  const list = rows("results_turnout_by_hour").map((h) => ({ t: Date.parse(h.hour_start), v: h.votes })).sort((a, b) => a.t - b.t);
  const el = $("hours");
  if (!list.length) return (el.innerHTML = `<div class="empty">no votes yet</div>`);
  const day = new Date(list[0].t); day.setUTCHours(0, 0, 0, 0);
  const start = day.getTime(), H = 3600000, W = 360, Ht = 130, pad = 16;
  const max = Math.max(1, ...list.map((h) => h.v));
  const bw = W / 24;
  let svg = `<svg viewBox="0 0 ${W} ${Ht + pad}" width="100%" role="img" aria-label="votes per hour">`;
  for (const h of list) {
    const i = Math.floor((h.t - start) / H);
    if (i < 0 || i > 23) continue;
    const bh = (Ht - 8) * h.v / max;
    svg += `<rect class="col" x="${i * bw + 2}" y="${Ht - bh}" width="${bw - 4}" height="${bh}"><title>${String(i).padStart(2, "0")}:00 ${fmt(h.v)}</title></rect>`;
  }
  for (let i = 0; i < 24; i += 6) svg += `<text x="${i * bw + 2}" y="${Ht + 13}">${String(i).padStart(2, "0")}:00</text>`;
  if (state.frontier !== null) {
    const x = Math.min(W, Math.max(0, (state.frontier - start) / H * bw));
    svg += `<line class="mark" x1="${x}" x2="${x}" y1="0" y2="${Ht}"></line>`;
  }
  el.innerHTML = svg + "</svg>";
}

function where(counted) {
  const regions = rows("results_turnout_by_region").sort((a, b) => b.turnout_pct - a.turnout_pct);
  table($("regions"), [
    { label: "region", value: (r) => r.region },
    { label: "votes", num: true, value: (r) => fmt(r.votes) },
    { label: "turnout", num: true, value: (r) => pct(r.turnout_pct) },
  ], regions);
  const ages = rows("results_turnout_by_age_group").sort((a, b) => a.age_group.localeCompare(b.age_group));
  bars($("ages"), ages.map((a) => ({ label: a.age_group, value: a.votes })), counted);
  const genders = rows("results_turnout_by_gender").sort((a, b) => b.votes - a.votes);
  bars($("genders"), genders.map((g) => ({ label: g.gender, value: g.votes })), counted);
  const edu = rows("results_votes_by_education_party");
  const levels = [...new Set(edu.map((e) => e.education_level))].sort();
  const parties = [...new Set(edu.map((e) => e.party_affiliation))].sort();
  const cell = new Map(edu.map((e) => [e.education_level + "\u0000" + e.party_affiliation, e.votes]));
  const maxE = Math.max(1, ...edu.map((e) => e.votes));
  $("education").innerHTML = `<thead><tr><th></th>${parties.map((p) => `<th class="num" title="${esc(p)}">${esc(initials(p))}</th>`).join("")}</tr></thead><tbody>${levels
    .map((l) => `<tr><td>${esc(l)}</td>${parties.map((p) => {
      const v = cell.get(l + "\u0000" + p) || 0;
      return `<td class="cell" style="background:rgba(76,194,255,${(0.08 + 0.6 * v / maxE).toFixed(2)})">${fmt(v)}</td>`;
    }).join("")}</tr>`).join("")}</tbody>`;
  const stations = rows("results_top_polling_stations").sort((a, b) => a.rank - b.rank);
  table($("stations"), [
    { label: "#", num: true, value: (s) => s.rank },
    { label: "station", value: (s) => s.polling_station_id },
    { label: "votes", num: true, value: (s) => fmt(s.votes) },
  ], stations);
}

// Cities are too many to send: a page of them is read from the server as of the board's
// latest frame, again whenever a frame arrives while the page is open.
const cities = { q: "", offset: 0, limit: 10, pending: false };
async function loadCities() {
  if (cities.pending) return;
  cities.pending = true;
  try {
    const url = `/api/rows?table=results_turnout_by_city&sort=votes&limit=${cities.limit}&offset=${cities.offset}&q=${encodeURIComponent(cities.q)}`;
    const page = await (await fetch(url)).json();
    table($("cities"), [
      { label: "city", value: (c) => c.city },
      { label: "region", value: (c) => c.region },
      { label: "votes", num: true, value: (c) => fmt(c.votes) },
    ], page.rows);
    const last = Math.min(page.total, cities.offset + cities.limit);
    $("city-pages").textContent = page.total ? `${cities.offset + 1}–${last} of ${fmt(page.total)}` : "none";
  } catch (e) {
    $("city-pages").textContent = "unavailable";
  } finally {
    cities.pending = false;
  }
}
$("city-q").addEventListener("input", (e) => { cities.q = e.target.value; cities.offset = 0; loadCities(); });
$("city-prev").addEventListener("click", () => { cities.offset = Math.max(0, cities.offset - cities.limit); loadCities(); });
$("city-next").addEventListener("click", () => { if (cities.offset + cities.limit < (state.sizes.results_turnout_by_city || 0)) { cities.offset += cities.limit; loadCities(); } });

function integrity() {
  const kinds = state.counts["anomalies.kind"] || {};
  const names = Object.keys(kinds).sort((a, b) => kinds[b] - kinds[a]);
  $("kinds").innerHTML = names.length ? names.map((k) => `<div class="chip" data-kind="${esc(k)}"><b>${fmt(kinds[k])}</b><small>${esc(k.replace(/_/g, " "))}</small></div>`).join("") : `<div class="empty">none</div>`;
  const time = (f) => Date.parse(f.window_start || f.voting_time || 0) || 0;
  const live = rows("anomalies").map((f) => ({ f, retracted: false }));
  const gone = state.retracted.filter((r) => r.table === "anomalies").map((r) => ({ f: r.row, retracted: true }));
  const findings = live.concat(gone).sort((a, b) => time(b.f) - time(a.f)).slice(0, 14);
  table($("findings"), [
    { label: "kind", value: (x) => x.f.kind.replace(/_/g, " ") + (x.retracted ? " (retracted)" : "") },
    { label: "station / region", value: (x) => x.f.polling_station_id || x.f.region || "" },
    { label: "window", value: (x) => (x.f.window_start ? hhmm(Date.parse(x.f.window_start)) : "") },
    { label: "observed", num: true, value: (x) => fmt(x.f.observed) },
    { label: "expected", num: true, value: (x) => (x.f.expected == null ? "–" : Number(x.f.expected).toFixed(1)) },
    { label: "score", num: true, value: (x) => (x.f.score == null ? "–" : Number(x.f.score).toFixed(1)) },
  ], findings, (x) => (x.retracted ? "retracted" : ""));
  const checks = rows("data_quality").sort((a, b) => a.passed - b.passed || a.check.localeCompare(b.check));
  table($("quality"), [
    { label: "check", value: (q) => (q.passed ? "✓ " : "✗ ") + q.check.replace(/_/g, " ") },
    { label: "observed", num: true, value: (q) => Number(q.observed).toLocaleString("en-GB", { maximumFractionDigits: 3 }) },
    { label: "wanted", num: true, value: (q) => Number(q.expected).toLocaleString("en-GB", { maximumFractionDigits: 3 }) },
  ], checks, (q) => (q.passed ? "pass" : "fail"));
}

function engine() {
  const e = state.engine;
  if (!e) return;
  const rates = state.rates;
  const W = 720, H = 140;
  const max = Math.max(1, ...rates.map((r) => r.rate));
  const pts = rates.map((r, i) => `${(i / Math.max(1, rates.length - 1) * W).toFixed(1)},${(H - 4 - (H - 14) * r.rate / max).toFixed(1)}`);
  const now = rates.length ? rates[rates.length - 1].rate : 0;
  $("rate").innerHTML = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="votes per second">
      ${pts.length > 1 ? `<polygon class="area" points="0,${H} ${pts.join(" ")} ${W},${H}"></polygon><polyline class="spark" points="${pts.join(" ")}"></polyline>` : ""}
      <text x="4" y="12">${fmt(Math.round(now))} votes/s now · peak ${fmt(Math.round(max))}</text></svg>`;
  const lag = e.max_event_ms != null && e.watermark_ms != null ? (e.max_event_ms - e.watermark_ms) / 1000 : null;
  const secs = (s) => (s == null ? "–" : s < 1 ? (s * 1000).toFixed(0) + " ms" : s.toFixed(2) + " s");
  const kv = [
    ["votes admitted", fmt(e.votes)],
    ["late votes", fmt(e.late)],
    ["registry records", fmt(e.registry_records)],
    ["watermark", e.watermark_ms == null ? "–" : hhmm(e.watermark_ms)],
    ["watermark lag", lag == null ? "–" : `${fmt(Math.round(lag))} s`],
    ["commit latency p50 / p99", e.latency.count ? `${secs(e.latency.p50_s)} / ${secs(e.latency.p99_s)}` : "–"],
    ["PostgreSQL commits / outages", e.postgres ? `${fmt(e.postgres.commits)} / ${fmt(e.postgres.outages)}` : "not written"],
    ["memory", e.rss_bytes == null ? "–" : (e.rss_bytes / 1048576).toFixed(0) + " MB"],
    ["uptime", `${Math.round(e.uptime_s)} s`],
  ];
  $("engine").innerHTML = kv.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${esc(v)}</td></tr>`).join("");
  // Vote partitions first (they have lag and idleness), most behind first.
  const health = e.partitions || {};
  const positions = Object.entries(e.positions || {}).sort(([a], [b]) => ((health[b]?.lag ?? -1) - (health[a]?.lag ?? -1)) || a.localeCompare(b));
  table($("positions"), [
    { label: "source / partition", value: ([k]) => k + (health[k]?.idle ? " (idle)" : "") },
    { label: "next", num: true, value: ([, v]) => fmt(v) },
    { label: "lag", num: true, value: ([k]) => fmt(health[k]?.lag) },
  ], positions.slice(0, 12));
  const reasons = Object.entries(e.dead_letters || {});
  if (reasons.length) table($("dead"), [{ label: "reason", value: ([k]) => k }, { label: "count", num: true, value: ([, v]) => fmt(v) }], reasons);
  else $("dead").innerHTML = `<tbody><tr><td class="empty">none</td></tr></tbody>`;
}

// The projection: the national race's projected shares (bar), 90 % interval (band) and win
// probabilities, and each race's favourite with its status.
function projection() {
  // The races between candidates (a party's own row, with no candidate, is left out).
  const list = rows("projection").filter((r) => r.candidate_id !== "");
  const national = list.filter((r) => r.race === "national").sort((a, b) => b.projected_share - a.projected_share);
  if (!national.length) {
    $("projection-national").innerHTML = `<div class="empty">no projection yet</div>`;
    $("projection-call").innerHTML = "";
    $("projection-races").innerHTML = "";
    return;
  }
  const names = new Map(rows("results_votes_per_candidate").map((c) => [c.candidate_id, c.candidate_name]));
  const name = (id) => names.get(id) || id;
  const when = (t) => (t ? hhmm(Date.parse(t)) : "–");
  const badge = (r) => `<span class="badge call ${esc(r.status)}">${esc(r.status.replace("_", " ").toUpperCase())}</span>`;
  const head = national[0];
  $("projection-call").innerHTML = badge(head) + (head.called_for ? ` <small>for ${esc(name(head.called_for))} at ${esc(when(head.called_at))}</small>` : "");
  $("projection-national").innerHTML = national.map((r) => `<div class="bar" data-candidate="${esc(r.candidate_id)}"><span class="label" title="${esc(name(r.candidate_id))}">${esc(name(r.candidate_id))}</span>
      <span class="track interval"><span class="fill" style="width:${r.projected_share.toFixed(2)}%;background:${colour(r.party_affiliation)}"></span><span class="range" style="left:${r.share_lo90.toFixed(2)}%;width:${(r.share_hi90 - r.share_lo90).toFixed(2)}%"></span></span>
      <span class="value"><b>${pct(r.projected_share)}</b> ${pct(r.share_lo90)}–${pct(r.share_hi90)} · win ${pct(100 * r.win_probability)}</span></div>`).join("");
  const favourites = new Map();
  for (const r of list) {
    const f = favourites.get(r.race);
    if (!f || r.win_probability > f.win_probability || (r.win_probability === f.win_probability && r.projected_share > f.projected_share)) favourites.set(r.race, r);
  }
  const races = Array.from(favourites.values()).sort((a, b) => (a.race === "national" ? -1 : b.race === "national" ? 1 : a.race.localeCompare(b.race)));
  table($("projection-races"), [
    { label: "race", value: (r) => r.race },
    { label: "favourite", value: (r) => name(r.candidate_id) },
    { label: "share", num: true, value: (r) => pct(r.projected_share) },
    { label: "90 %", num: true, value: (r) => `${r.share_lo90.toFixed(1)}–${r.share_hi90.toFixed(1)}` },
    { label: "win", num: true, value: (r) => pct(100 * r.win_probability) },
    { label: "status", value: (r) => r.status.replace("_", " ") },
    { label: "called", value: (r) => when(r.called_at) },
  ], races, (r) => "call-" + r.status);
}

function render() {
  const totals = header();
  race(totals);
  projection();
  where(totals.counted);
  integrity();
  status();
}

function onEngine(e) {
  const prev = state.engine;
  if (prev && e.uptime_s > prev.uptime_s) {
    state.rates.push({ t: e.uptime_s, rate: Math.max(0, (e.votes - prev.votes) / (e.uptime_s - prev.uptime_s)) });
    if (state.rates.length > 180) state.rates.shift();
  }
  state.engine = e;
  engine();
  status();
}

function connect() {
  const source = new EventSource(`/events?after=${state.id}`);
  source.onopen = () => { state.connected = true; status(); };
  source.onerror = () => { state.connected = false; status(); };
  source.addEventListener("snapshot", (m) => { load(JSON.parse(m.data)); render(); loadCities(); });
  source.addEventListener("frame", (m) => { apply(JSON.parse(m.data)); render(); loadCities(); });
  source.addEventListener("engine", (m) => onEngine(JSON.parse(m.data)));
}

if (window.SNAPSHOT) load(window.SNAPSHOT);
state.connected = true;
render();
loadCities();
connect();
setInterval(status, 1000);
