// Bảng điều khiển: reads the v1 API with the key the user types (kept for this tab only).
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let key = sessionStorage.getItem("ioc-key") || "";

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${key}` } });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body?.error?.message || `${r.status} ${r.statusText}`);
  return body;
}

const fmt = (v) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("vi-VN")
                                      : v.toLocaleString("vi-VN", { maximumFractionDigits: 2 }));

function el(tag, attrs = {}, parent = null, ns = SVG) {
  const node = document.createElementNS(ns, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function table(node, header, rows) {
  node.innerHTML = "";
  const tr = node.insertRow();
  header.forEach((h) => { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); });
  rows.forEach((row) => { const r = node.insertRow(); row.forEach((c) => { r.insertCell().textContent = c; }); });
}

async function health() {
  const badge = $("health");
  try {
    const h = await (await fetch("/health")).json();
    badge.textContent = h.status === "ok" ? "hoạt động bình thường" : "suy giảm";
    badge.className = `badge ${h.status === "ok" ? "ok" : "bad"}`;
  } catch { badge.textContent = "không kết nối được"; badge.className = "badge bad"; }
}

function drawForecast(history, forecast) {
  const svg = $("chart");
  svg.innerHTML = "";
  const hist = history.slice(-60);
  const pts = forecast.points;
  const hi = pts.map((p) => p.upper_95 ?? p.mean), lo = pts.map((p) => p.lower_95 ?? p.mean);
  const values = hist.map((o) => o.value).concat(hi, lo);
  const [ymin, ymax] = [Math.min(...values), Math.max(...values)];
  const n = hist.length + pts.length, W = 900, H = 320, L = 70, B = 30;
  const x = (i) => L + (i * (W - L - 10)) / Math.max(n - 1, 1);
  const y = (v) => H - B - ((v - ymin) / (ymax - ymin || 1)) * (H - B - 10);
  el("line", { x1: L, y1: H - B, x2: W, y2: H - B, class: "axis" }, svg);
  for (let k = 0; k <= 4; k++) {
    const v = ymin + (k * (ymax - ymin)) / 4;
    el("text", { x: 4, y: y(v) + 4, class: "label" }, svg).textContent = fmt(v);
  }
  const labels = hist.map((o) => o.period).concat(pts.map((p) => p.period));
  const step = Math.ceil(n / 10);
  labels.forEach((lab, i) => {
    if (i % step === 0) el("text", { x: x(i) - 18, y: H - 10, class: "label" }, svg).textContent = lab;
  });
  const off = hist.length;
  const band = (lower, upper, cls) => {
    if (!(lower in pts[0])) return;
    const top = pts.map((p, i) => `${x(off + i)},${y(p[upper])}`);
    const bottom = pts.map((p, i) => `${x(off + i)},${y(p[lower])}`).reverse();
    el("polygon", { points: top.concat(bottom).join(" "), class: cls }, svg);
  };
  band("lower_95", "upper_95", "band95");
  band("lower_80", "upper_80", "band80");
  el("polyline", { points: hist.map((o, i) => `${x(i)},${y(o.value)}`).join(" "), class: "history" }, svg);
  const last = hist[hist.length - 1];
  const line = [`${x(off - 1)},${y(last.value)}`].concat(pts.map((p, i) => `${x(off + i)},${y(p.mean)}`));
  el("polyline", { points: line.join(" "), class: "forecast" }, svg);
}

async function showIndicator() {
  const code = $("indicator").value, h = $("horizon").value;
  if (!code) return;
  const token = (showIndicator.token = (showIndicator.token || 0) + 1);
  try {
    const [obs, fc, tg] = await Promise.all([
      api(`/v1/indicators/${code}/observations`),
      api(`/v1/indicators/${code}/forecast?horizon=${h}&level=80&level=95`),
      api(`/v1/indicators/${code}/targets`),
    ]);
    if (token !== showIndicator.token) return;  // the user picked another indicator meanwhile
    const ind = window.catalogue.find((i) => i.code === code);
    $("indicator-meta").textContent =
      `${ind.unit} · tần suất ${ind.frequency} · nguồn: ${ind.source} · mô hình v${fc.model.version}`;
    drawForecast(obs.observations, fc);
    $("chart").dataset.indicator = code;
    const bt = fc.backtest;
    table($("backtest"), ["chỉ số", "giá trị"], Object.entries(bt).map(([k, v]) => [k, typeof v === "number" ? fmt(v) : v]));
    const noTargets = [["—", "Chưa có mục tiêu kế hoạch (PUT /v1/indicators/{mã} với targets)", ""]];
    table($("targets"), ["kỳ", "mục tiêu", "xác suất đạt"], tg.targets.length === 0 ? noTargets : tg.targets.map((t) =>
      [t.period, `${t.kind === "growth" ? "tăng " : ""}${fmt(t.value)}${t.kind === "growth" ? "%" : ""}`,
       t.probability === undefined ? (t.error || "—") : `${Math.round(t.probability * 100)}%`]));
    $("csv").onclick = async (e) => {
      e.preventDefault();
      const r = await fetch(`/v1/indicators/${code}/forecast?horizon=${h}&format=csv`,
                            { headers: { Authorization: `Bearer ${key}` } });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await r.blob());
      a.download = `${code}-forecast.csv`;
      a.click();
    };
    $("message").textContent = "";
    showSeasonal(code, ind.frequency, token);
  } catch (err) { $("message").textContent = `Không dự báo được ${code}: ${err.message}`; }
}

async function showSeasonal(code, frequency, token) {
  // Monthly indicators: the X-13 seasonal adjustment with Tết removed (chart from the API, effect in words).
  const box = $("seasonal-box");
  box.hidden = true;
  if (frequency !== "M") return;
  try {
    const sa = await api(`/v1/indicators/${code}/seasonal-adjustment`);
    const r = await fetch(`/v1/indicators/${code}/seasonal-adjustment.png`,
                          { headers: { Authorization: `Bearer ${key}` } });
    if (!r.ok || token !== showIndicator.token) return;
    const img = $("seasonal");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(await r.blob());
    const t = sa.tet;
    const effect = !t ? "không ước lượng hiệu ứng Tết"
      : `tháng chứa kỳ nghỉ Tết: ${sa.decomposition === "multiplicative"
          ? `${(100 * (Math.exp(t.coefficient) - 1)).toFixed(1)}%` : fmt(t.coefficient)} (t = ${t.t.toFixed(1)}`
        + `${Math.abs(t.t) > 2 ? ", rõ rệt" : ", không rõ rệt"})`;
    $("seasonal-meta").textContent = `Phân rã ${sa.decomposition === "multiplicative" ? "nhân" : "cộng"}; ${effect}`;
    box.hidden = false;
  } catch (err) {
    $("seasonal-meta").textContent = `Không điều chỉnh mùa vụ được: ${err.message}`;
    box.hidden = false;
  }
}

async function showSocial() {
  const svg = $("social-chart");
  svg.innerHTML = "";
  try {
    const end = new Date(), start = new Date(end - 30 * 864e5);
    const s = await api(`/v1/social/summary?start=${start.toISOString().slice(0, 10)}&end=${end.toISOString().slice(0, 10)}&interval=day`);
    const buckets = s.buckets || [];
    if (!buckets.length) {
      el("text", { x: 20, y: 110, class: "label" }, svg).textContent = "Chưa có bài viết nào trong 30 ngày qua.";
    }
    const max = Math.max(1, ...buckets.map((b) => b.total));
    const w = 880 / Math.max(buckets.length, 1);
    buckets.forEach((b, i) => {
      let top = 200;
      for (const label of ["negative", "neutral", "positive"]) {
        const hgt = (180 * (b.counts[label] || 0)) / max;
        top -= hgt;
        el("rect", { x: 10 + i * w, y: top, width: Math.max(w - 2, 1), height: hgt, class: label }, svg);
      }
    });
    const alerts = $("alerts");
    alerts.innerHTML = "";
    (s.alerts || []).forEach((a) => {
      const li = document.createElement("li");
      li.textContent = `${a.bucket}${a.topic ? " · " + a.topic : ""}: ${a.count} bài tiêu cực (mức nền ${fmt(a.baseline)})`;
      alerts.appendChild(li);
    });
    if (!alerts.children.length) alerts.innerHTML = "<li>Không có cảnh báo.</li>";
  } catch (err) { $("alerts").innerHTML = `<li>${err.message}</li>`; }
}

async function showModels() {
  const models = await api("/v1/models");
  table($("model-table"), ["mô hình", "champion", "đang phục vụ", "số phiên bản", "lỗi"], models.map((m) =>
    [m.name, m.champion ?? "—", m.serving ?? "—", String(m.versions.length), m.error ?? ""]));
}

async function connect() {
  try {
    window.catalogue = await api("/v1/indicators");
  } catch (err) {
    $("message").textContent = `Không kết nối được: ${err.message}`;
    $("content").hidden = true;
    return;
  }
  sessionStorage.setItem("ioc-key", key);
  $("content").hidden = false;
  $("message").textContent = "";
  const select = $("indicator");
  select.innerHTML = "";
  window.catalogue.forEach((i) => {
    const o = document.createElement("option");
    o.value = i.code;
    o.textContent = `${i.name} (${i.last_period ?? "chưa có số liệu"})`;
    select.appendChild(o);
  });
  await Promise.all([showIndicator(), showSocial(), showModels()]);
  document.body.dataset.ready = "true";
}

$("login").addEventListener("submit", (e) => { e.preventDefault(); key = $("key").value.trim(); connect(); });
$("indicator").addEventListener("change", showIndicator);
$("horizon").addEventListener("change", showIndicator);
health();
if (key) connect();
