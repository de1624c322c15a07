// Dư luận xã hội: trends by day (Apache ECharts, Vietnamese locale), by topic and by place, alerts with their
// posts, and the review queue whose one-click labels change the stored label and the counts at once.
import { ApiError, get, post } from "./api.js";
import { formatNumber } from "./format.js";

const TZ = "Asia/Ho_Chi_Minh";
const root = document.getElementById("social");
const TOPICS = JSON.parse(root.dataset.topics);
const LABELS = JSON.parse(root.dataset.labels); // {positive: "Tích cực", ...}
const canLabel = root.dataset.canLabel === "true";
const ORDER = ["negative", "neutral", "positive"];
const COLORS = { negative: "#b03a2e", neutral: "#6b7785", positive: "#1e6b3a" };
const status = document.getElementById("sl-status");
const daysSelect = document.getElementById("sl-days");
const isoDay = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });
const viDay = new Intl.DateTimeFormat("vi-VN", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });
let chart = null;

const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
/** "2026-12-05" of an instant, in the province's time zone. */
const dayKey = (iso) => isoDay.format(new Date(iso));
/** "05/12/2026" of a "2026-12-05" day. */
const dayLabel = (key) => viDay.format(new Date(`${key}T12:00:00+07:00`));
const topicName = (code) => (code ? TOPICS[code] || code : "Khác");

function say(text, kind = "info") {
  status.textContent = text;
  status.className = `message ${kind}`;
  status.hidden = !text;
}

function startDay(days) {
  const today = new Date(`${dayKey(new Date().toISOString())}T12:00:00+07:00`);
  today.setUTCDate(today.getUTCDate() - (days - 1));
  return dayKey(today.toISOString());
}

function allDays(start) {
  const out = [];
  const end = dayKey(new Date().toISOString());
  const d = new Date(`${start}T12:00:00+07:00`);
  for (let key = start; key <= end; d.setUTCDate(d.getUTCDate() + 1), key = dayKey(d.toISOString())) out.push(key);
  return out;
}

function renderTrend(summary, start) {
  const days = allDays(start);
  const byDay = Object.fromEntries(summary.buckets.map((b) => [dayKey(b.bucket), b.counts]));
  const totals = Object.fromEntries(ORDER.map((k) => [k, 0]));
  summary.buckets.forEach((b) => ORDER.forEach((k) => { totals[k] += b.counts[k] || 0; }));
  const line = document.getElementById("sl-totals");
  line.replaceChildren(
    el("span", { textContent: `Tổng: ${formatNumber(summary.total)} bài` }),
    ...ORDER.map((k) => el("span", { className: `sl-total sl-${k}`, textContent: ` · ${LABELS[k]}: ` },
      el("strong", { textContent: formatNumber(totals[k]), dataset: { label: k } }))),
  );
  if (!window.echarts) return;
  chart ??= window.echarts.init(document.getElementById("sl-trend"), null, { locale: "VI", renderer: "canvas" });
  chart.setOption({
    color: ORDER.map((k) => COLORS[k]),
    textStyle: { fontFamily: "system-ui, sans-serif" },
    legend: { top: 0, data: ORDER.map((k) => LABELS[k]) },
    grid: { left: 48, right: 16, top: 64, bottom: 56, containLabel: true },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (items) => {
        const head = `Ngày ${items[0].axisValueLabel}`;
        // no i.marker: it is a <span style=...>, which the CSP (no inline style) blocks; classes colour the dots
        const rows = items.map((i) => `<span class="sl-dot sl-${ORDER[i.seriesIndex]}-dot"></span>${i.seriesName}: ${formatNumber(i.value)} bài`);
        return [head, ...rows].join("<br>");
      },
    },
    xAxis: { type: "category", name: "Ngày", nameLocation: "middle", nameGap: 36, data: days.map(dayLabel) },
    yAxis: { type: "value", name: "Số bài viết", minInterval: 1, axisLabel: { formatter: (v) => formatNumber(v) } },
    series: ORDER.map((k) => ({
      name: LABELS[k],
      type: "bar",
      stack: "bai",
      emphasis: { focus: "series" },
      data: days.map((d) => byDay[d]?.[k] || 0),
    })),
  }, true);
}

function groupTable(summary, caption, nameOf) {
  const groups = new Map();
  for (const b of summary.buckets) {
    const g = groups.get(b.group) || { total: 0, negative: 0, neutral: 0, positive: 0 };
    g.total += b.total;
    ORDER.forEach((k) => { g[k] += b.counts[k] || 0; });
    groups.set(b.group, g);
  }
  if (!groups.size) return el("p", { textContent: "Chưa có bài viết nào trong khoảng thời gian này." });
  const rows = [...groups.entries()].sort((a, b) => b[1].negative - a[1].negative || b[1].total - a[1].total);
  const head = el("tr", {}, ...[caption, "Tổng", ...ORDER.map((k) => LABELS[k]), "Tỉ lệ tiêu cực"].map(
    (t, i) => el("th", { scope: "col", textContent: t, className: i ? "num" : "" })));
  const body = rows.map(([group, g]) => el("tr", {},
    el("th", { scope: "row", textContent: nameOf(group) }),
    el("td", { className: "num", textContent: formatNumber(g.total) }),
    ...ORDER.map((k) => el("td", { className: `num sl-${k}`, textContent: formatNumber(g[k]) })),
    el("td", { className: "num", textContent: g.total ? `${formatNumber((g.negative / g.total) * 100)}%` : "" })));
  return el("table", { className: "sl-table" }, el("thead", {}, head), el("tbody", {}, ...body));
}

function renderAlerts(alerts) {
  const box = document.getElementById("sl-alerts");
  if (!alerts.length) {
    box.replaceChildren(el("p", { textContent: "Không có cảnh báo nào trong khoảng thời gian này." }));
    return;
  }
  const items = [...alerts].reverse().map((a, i) => {
    const posts = a.evidence.slice(0, 10).map((p) => el("li", {}, el("q", { textContent: p.text }),
      el("span", { className: "ov-muted", textContent: ` — ${p.source}` })));
    const more = a.evidence.length > 10 ? el("p", { className: "hint", textContent: `và ${a.evidence.length - 10} bài khác` }) : null;
    const summary = el("summary", {},
      el("span", { className: "ov-item-title", textContent: a.topic_name || topicName(a.group) }),
      `: ${formatNumber(a.count)} bài tiêu cực ngày ${dayLabel(dayKey(a.bucket))} `,
      el("span", { className: "ov-muted", textContent: `(thường khoảng ${formatNumber(a.baseline)})` }));
    return el("li", { className: "ov-item tone-bad" },
      el("details", { className: "ov-alert", open: i === 0 }, summary, el("ol", { className: "ov-posts" }, ...posts), more));
  });
  box.replaceChildren(el("ul", { className: "ov-list" }, ...items));
}

function reviewItem(p) {
  const when = dayLabel(dayKey(p.created_at));
  const buttons = ["positive", "neutral", "negative"].map((k) => el("button", {
    type: "button",
    className: `sl-label sl-label-${k}`,
    textContent: LABELS[k],
    dataset: { label: k },
  }));
  const li = el("li", { className: "sl-item", dataset: { postId: p.post_id } },
    el("p", { className: "sl-text", textContent: p.text }),
    el("p", { className: "meta", textContent: `${p.source}${p.district ? ` · ${p.district}` : ""} · ${when} · mô hình đoán: ${LABELS[p.model_label]} (${formatNumber(p.scores[p.model_label] * 100)}%)` }),
    el("div", { className: "row sl-buttons", role: "group", ariaLabel: "Gán nhãn" }, ...buttons));
  buttons.forEach((b) => b.addEventListener("click", () => label(li, p, b.dataset.label, buttons)));
  return li;
}

async function label(li, p, value, buttons) {
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await post("/v1/social/labels", { post_id: p.post_id, label: value });
    say(`Đã lưu nhãn “${LABELS[value]}” cho bài viết.`);
    const next = li.nextElementSibling?.querySelector("button") || li.previousElementSibling?.querySelector("button");
    li.remove();
    next?.focus();
    await loadCounts();
  } catch (e) {
    buttons.forEach((b) => { b.disabled = false; });
    say(e instanceof ApiError ? `Không lưu được nhãn: ${e.message}` : "Không lưu được nhãn; thử lại.", "error");
  }
}

async function loadReview() {
  const list = document.getElementById("sl-review");
  const queue = await get("/v1/social/review?limit=10");
  if (!queue.length) {
    list.replaceChildren(el("li", { textContent: "Không còn bài nào cần duyệt." }));
    return;
  }
  list.replaceChildren(...queue.map(reviewItem));
}

async function loadCounts() {
  const start = startDay(Number(daysSelect.value));
  const q = `start=${start}&interval=day`;
  const [daily, topics, places, alerts] = await Promise.all([
    get(`/v1/social/summary?${q}`),
    get(`/v1/social/summary?${q}&group_by=topic`),
    get(`/v1/social/summary?${q}&group_by=district`),
    get(`/v1/social/alerts?start=${start}`),
  ]);
  renderTrend(daily, start);
  document.getElementById("sl-topics").replaceChildren(groupTable(topics, "Chủ đề", topicName));
  document.getElementById("sl-places").replaceChildren(groupTable(places, "Địa bàn", (g) => g || "Không rõ"));
  renderAlerts(alerts);
  root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
}

async function load() {
  try {
    await Promise.all([loadCounts(), canLabel ? loadReview() : null]);
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
    say(e instanceof ApiError ? `Không tải được số liệu: ${e.message}` : "Không tải được số liệu; thử lại sau.", "error");
  }
}

daysSelect.addEventListener("change", load);
window.addEventListener("resize", () => chart?.resize());
load();
