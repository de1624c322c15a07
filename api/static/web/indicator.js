// One indicator: the forecast chart (history, forecast, 80/95% bands, plan targets, anomalies), accuracy in
// plain words, target probabilities, the X-13 chart (loaded when scrolled to), and for analysts the upload
// with a preview (dry run, then "Lưu") and the targets and details edited in place. Everything from /v1.
import { ApiError, get, patch, post } from "./api.js";
import { COLORS, axisTooltip, bandSeries, categoryAxis, createChart, lineSeries, valueAxis } from "./charts.js";
import { formatDateTime, formatValue, periodLabel } from "./format.js";

const root = document.getElementById("indicator");
const code = root.dataset.code;
const freq = root.dataset.frequency;
const flow = root.dataset.kind === "flow";
let unit = root.dataset.unit;
const canEdit = root.dataset.canEdit === "true";
const maxHorizon = Number(root.dataset.maxHorizon) || 120;
const base = `/v1/indicators/${encodeURIComponent(code)}`;
const HORIZONS = { M: 12, Q: 8, Y: 5 };
const PER_YEAR = { M: 12, Q: 4, Y: 1 };
const $ = (id) => document.getElementById(id);

// -- periods ------------------------------------------------------------------------------------------------
function ordinal(period) {
  const y = Number(period.slice(0, 4));
  if (freq === "M") return y * 12 + (period.length === 7 ? Number(period.slice(5, 7)) - 1 : 0);
  if (freq === "Q") return y * 4 + (period.includes("Q") ? Number(period.slice(-1)) - 1 : 0);
  return y;
}

function periodOf(o) {
  if (freq === "M") return `${Math.floor(o / 12)}-${String((o % 12) + 1).padStart(2, "0")}`;
  if (freq === "Q") return `${Math.floor(o / 4)}-Q${(o % 4) + 1}`;
  return String(o);
}

/** The indicator's periods a target period covers: a year is its months or quarters. */
function covered(period) {
  if (/^\d{4}$/.test(period) && freq !== "Y") {
    const first = ordinal(period);
    return Array.from({ length: PER_YEAR[freq] }, (_, i) => periodOf(first + i));
  }
  return [periodOf(ordinal(period))];
}

/** Periods to forecast: by frequency, or further to reach the latest plan target. */
function horizonFor(last, targets) {
  let h = HORIZONS[freq] ?? 12;
  if (last) {
    for (const t of targets) {
      const periods = covered(String(t.period));
      h = Math.max(h, ordinal(periods[periods.length - 1]) - ordinal(last));
    }
  }
  return Math.max(1, Math.min(h, maxHorizon));
}

// -- messages -----------------------------------------------------------------------------------------------
const VIETNAMESE = /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]/i;
const CODES = {
  no_observations: "Tệp không có giá trị nào cho chỉ tiêu này (mọi ô đều trống).",
  series_error: "Số liệu không hợp lệ cho chỉ tiêu này.",
  validation_error: "Dữ liệu gửi lên không hợp lệ.",
  payload_too_large: "Tệp quá lớn.",
  too_large: "Tệp quá lớn.",
  unsupported_media_type: "Định dạng tệp không được hỗ trợ: hãy gửi CSV hoặc XLSX.",
  unsupported_format: "Định dạng tệp không được hỗ trợ: hãy gửi CSV hoặc XLSX.",
  forbidden: "Vai trò của bạn không được thay đổi số liệu.",
  csrf_failed: "Phiên làm việc đã thay đổi; hãy tải lại trang rồi thử lại.",
  model_unavailable: "Mô hình dự báo chưa sẵn sàng.",
  not_found: "Không tìm thấy chỉ tiêu.",
};

/** A Vietnamese message for an API error: the API's own when it is Vietnamese (file problems), else by code. */
function explain(err) {
  if (!(err instanceof ApiError)) return { text: "Không kết nối được máy chủ; hãy thử lại.", more: "" };
  if (VIETNAMESE.test(err.message)) return { text: err.message, more: "" };
  return { text: CODES[err.code] ?? `Máy chủ từ chối yêu cầu (lỗi ${err.status}).`, more: err.message };
}

function say(el, kind, text, more = "") {
  el.hidden = false;
  el.className = `message ${kind}`;
  el.replaceChildren(text);
  if (more) {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = "Chi tiết kỹ thuật";
    d.append(s, more);
    el.append(d);
  }
}

function sayError(el, err) {
  const { text, more } = explain(err);
  say(el, "error", text, more);
}

function el(tag, text, cls) {
  const n = document.createElement(tag);
  if (text !== undefined) n.textContent = text;
  if (cls) n.className = cls;
  return n;
}

/** "1.234,5 tỷ đồng" */
const withUnit = (v) => (unit ? `${formatValue(v)} ${unit}` : formatValue(v));
const pct = (fraction) => `${Math.round(fraction * 100)}%`;

// -- state --------------------------------------------------------------------------------------------------
let observations = []; // [{period, value}]
let targets = []; // as GET .../targets answers: the definition plus probability, threshold, median...
let anomalies = [];
let forecastChart = null;

/** Draw everything; the first time from what the server put in data-page, after an upload from /v1. */
async function loadAll(fresh = false) {
  if (!fresh && root.dataset.page) {
    ({ observations, targets, anomalies } = JSON.parse(root.dataset.page));
  } else {
    const [obs, ind, anoms] = await Promise.all([
      get(`${base}/observations`),
      get(base),
      get(`/v1/anomalies?indicator=${encodeURIComponent(code)}&limit=200`),
    ]);
    observations = obs.observations;
    anomalies = anoms;
    targets = ind.targets;
  }
  renderAnomalies();
  const last = observations.length ? observations[observations.length - 1].period : null;
  const horizon = horizonFor(last, targets);
  $("forecast-csv").href = `${base}/forecast?format=csv&horizon=${horizon}`;
  const [forecast] = await Promise.all([
    observations.length ? get(`${base}/forecast?horizon=${horizon}&level=80&level=95`).catch((e) => e) : null,
    loadTargets(),
  ]);
  drawForecast(forecast instanceof Error ? null : forecast);
  if (forecast instanceof Error) {
    const { text } = explain(forecast);
    $("forecast-status").textContent = `Chưa dự báo được: ${text}`;
  }
}

async function loadTargets() {
  if (!targets.length) {
    renderTargets();
    return;
  }
  try {
    targets = (await get(`${base}/targets`)).targets;
  } catch {
    // the definitions stay; the probabilities are shown as not computed
  }
  renderTargets();
}

// -- the forecast chart -------------------------------------------------------------------------------------
function drawForecast(fc) {
  const hist = observations.map((o) => o.period);
  const future = fc ? fc.points.map((p) => p.period) : [];
  const periods = [...hist, ...future];
  const index = new Map(periods.map((p, i) => [p, i]));
  const n = periods.length;
  const blank = () => new Array(n).fill(null);

  const actual = blank();
  observations.forEach((o, i) => (actual[i] = o.value));
  const series = [lineSeries("Thực tế", actual, COLORS.actual)];
  if (fc) {
    const mean = blank();
    const [lo80, hi80, lo95, hi95] = [blank(), blank(), blank(), blank()];
    if (hist.length) mean[hist.length - 1] = actual[hist.length - 1]; // the forecast starts from the last value
    fc.points.forEach((p, j) => {
      const i = hist.length + j;
      mean[i] = p.mean;
      [lo80[i], hi80[i], lo95[i], hi95[i]] = [p.lower_80, p.upper_80, p.lower_95, p.upper_95];
    });
    series.push(
      ...bandSeries("Khoảng dự báo 95%", lo95, hi95, COLORS.band95, 0.45),
      ...bandSeries("Khoảng dự báo 80%", lo80, hi80, COLORS.band80, 0.45),
      lineSeries("Dự báo", mean, COLORS.forecast, { lineStyle: { color: COLORS.forecast, width: 2, type: "dashed" } }),
    );
  }
  for (const t of targets) {
    const level = t.threshold ?? (t.kind === "growth" ? null : t.value);
    if (level === null || level === undefined) continue;
    const cover = covered(String(t.period)).filter((p) => index.has(p));
    if (!cover.length) continue;
    const perPeriod = flow && cover.length > 1 ? level / PER_YEAR[freq] : level;
    const data = blank();
    cover.forEach((p) => (data[index.get(p)] = perPeriod));
    const name = flow && cover.length > 1 ? `Kế hoạch ${t.period} (bình quân mỗi kỳ)` : `Kế hoạch ${periodLabel(String(t.period))}`;
    series.push(
      lineSeries(name, data, COLORS.target, {
        showSymbol: cover.length === 1,
        symbol: "rect",
        symbolSize: 10,
        lineStyle: { color: COLORS.target, width: 3, type: [8, 4] },
      }),
    );
  }
  const byPeriod = new Map(anomalies.map((a) => [a.period, a]));
  if (anomalies.length) {
    const marks = blank();
    for (const a of anomalies) if (index.has(a.period)) marks[index.get(a.period)] = a.value;
    series.push({
      type: "scatter",
      name: "Bất thường",
      data: marks.map((v) => v ?? "-"),
      symbol: "diamond",
      symbolSize: 14,
      itemStyle: { color: COLORS.anomaly },
      z: 5,
    });
  }
  const shown = freq === "M" ? 96 + future.length : freq === "Q" ? 40 + future.length : n;
  const option = {
    xAxis: categoryAxis(periods.map((p) => periodLabel(p, true))),
    yAxis: valueAxis(unit),
    tooltip: axisTooltip({
      unit,
      title: (i) => `${periodLabel(periods[i])}${i >= hist.length ? " (dự báo)" : ""}`,
      extra: (i) => {
        const a = byPeriod.get(periods[i]);
        return a ? [`⚠ Bất thường: ngoài khoảng 95% dự kiến (${formatValue(a.lower_95)} – ${formatValue(a.upper_95)})`] : [];
      },
    }),
    dataZoom: n > shown ? [{ type: "inside", startValue: n - shown }, { type: "slider", startValue: n - shown, height: 22, bottom: 8 }] : [],
    series,
  };
  if (n > shown) option.grid = { left: 8, right: 16, top: 56, bottom: 48, containLabel: true };
  forecastChart = createChart($("forecast-chart"), option);
  const status = $("forecast-status");
  if (!observations.length) status.textContent = "Chưa có số liệu để vẽ biểu đồ.";
  else if (fc) {
    status.textContent =
      `Dự báo ${fc.points.length} kỳ tới từ mô hình dự báo phiên bản ${fc.model.version}, ` +
      `lập lúc ${formatDateTime(fc.generated_at)}.` +
      (anomalies.length ? ` Hình thoi đỏ: ${anomalies.length} kỳ bất thường.` : "");
  }
  renderAccuracy(fc);
}

function renderAccuracy(fc) {
  const box = $("accuracy");
  const bt = fc?.backtest;
  if (!bt) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (bt.error !== undefined || bt.smape === undefined) {
    box.replaceChildren(el("p", "Chưa đủ số liệu quá khứ để đo độ chính xác của dự báo."));
    return;
  }
  const p = el("p");
  p.append(
    `Độ chính xác khi thử dự báo lại quá khứ (${formatValue(bt.n_forecasts)} lần, mỗi lần ${formatValue(bt.horizon)} kỳ): `,
  );
  const smape = el("span", `sai số trung bình khoảng ${Math.round(bt.smape)}%`, "term");
  smape.title = `sMAPE = ${formatValue(bt.smape)}% (sai số phần trăm tuyệt đối trung bình đối xứng)` +
    (bt.mase !== undefined ? `; MASE = ${formatValue(bt.mase)}` : "");
  smape.tabIndex = 0;
  p.append(smape, "; ");
  const c80 = el("span", `khoảng 80% chứa giá trị thực ${pct(bt.coverage_80)} số lần`, "term");
  c80.title = `coverage_80 = ${formatValue(bt.coverage_80)} (tỷ lệ giá trị thực nằm trong khoảng dự báo 80%)`;
  c80.tabIndex = 0;
  p.append(c80);
  if (bt.coverage_95 !== undefined) {
    const c95 = el("span", `khoảng 95% chứa giá trị thực ${pct(bt.coverage_95)} số lần`, "term");
    c95.title = `coverage_95 = ${formatValue(bt.coverage_95)} (tỷ lệ giá trị thực nằm trong khoảng dự báo 95%)`;
    c95.tabIndex = 0;
    p.append("; ", c95);
  }
  p.append(".");
  box.replaceChildren(el("h3", "Độ tin cậy của dự báo"), p);
}

// -- targets ------------------------------------------------------------------------------------------------
function verdict(prob) {
  if (prob >= 0.8) return ["Nhiều khả năng đạt", "good"];
  if (prob >= 0.5) return ["Có thể đạt", "fair"];
  if (prob >= 0.2) return ["Khó đạt", "poor"];
  return ["Rất khó đạt", "bad"];
}

function renderTargets() {
  const list = $("targets-list");
  list.replaceChildren();
  if (!targets.length) {
    list.append(el("li", "Chưa có mục tiêu kế hoạch.", "meta"));
    return;
  }
  targets.forEach((t, i) => {
    const li = el("li", undefined, "target");
    const head = el("div", undefined, "target-head");
    const what = t.kind === "growth"
      ? `tăng ${t.direction === "at_most" ? "không quá" : "ít nhất"} ${formatValue(t.value)}% so với cùng kỳ`
      : `${t.direction === "at_most" ? "không cao hơn" : "đạt ít nhất"} ${withUnit(t.value)}`;
    head.append(el("strong", `${t.label || "Mục tiêu"} (${periodLabel(String(t.period))})`), `: ${what}`);
    li.append(head);
    if (typeof t.probability === "number") {
      const [word, cls] = verdict(t.probability);
      const badge = el("span", `khả năng đạt: ${pct(t.probability)}`, `chance chance-${cls}`);
      li.append(badge, ` ${word}.`);
      if (typeof t.median === "number") {
        const basis = flow && /^\d{4}$/.test(String(t.period)) && freq !== "Y" ? "tổng năm" : "giá trị";
        li.append(
          el("div", `Dự kiến ${basis}: ${withUnit(t.median)} (80% khả năng trong khoảng ${formatValue(t.lower_80)} – ${formatValue(t.upper_80)}).`, "meta"),
        );
      }
    } else if (t.error) {
      const note = el("div", "Chưa tính được khả năng đạt cho kỳ này (quá xa hoặc thiếu số liệu năm trước).", "meta");
      note.title = t.error;
      li.append(note);
    }
    if (canEdit) {
      const remove = el("button", "Xóa", "secondary small");
      remove.type = "button";
      remove.setAttribute("aria-label", `Xóa mục tiêu ${t.label || periodLabel(String(t.period))}`);
      remove.addEventListener("click", () => saveTargets(targets.filter((_, j) => j !== i), "Đã xóa mục tiêu."));
      li.append(" ", remove);
    }
    list.append(li);
  });
}

const definition = (t) => ({
  period: String(t.period),
  value: t.value,
  kind: t.kind ?? "level",
  direction: t.direction ?? "at_least",
  label: t.label ?? "",
});

async function saveTargets(next, done) {
  const msg = $("target-message");
  say(msg, "info", "Đang lưu và tính khả năng đạt…");
  try {
    await patch(base, { targets: next.map(definition) });
    targets = next.map(definition);
    await loadTargets();
    say(msg, "info", done);
    await refreshForecast();
  } catch (err) {
    sayError(msg, err);
  }
}

/** "2026", "12/2026", "2026-12", "Quý IV/2026", "Q4/2026", "2026-Q4" as the API's period; null if none. */
function parsePeriod(text) {
  const t = text.trim().replace(/^(năm|tháng)\s*/i, "");
  let m;
  if (/^\d{4}$/.test(t)) return t;
  if ((m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(t))) return t;
  if ((m = /^(\d{1,2})\s*[/.-]\s*(\d{4})$/.exec(t)) && +m[1] >= 1 && +m[1] <= 12) return `${m[2]}-${m[1].padStart(2, "0")}`;
  const roman = { I: 1, II: 2, III: 3, IV: 4 };
  if ((m = /^(?:quý|q)\s*(IV|I{1,3}|[1-4])\s*[/.-]\s*(\d{4})$/i.exec(t))) return `${m[2]}-Q${roman[m[1].toUpperCase()] ?? m[1]}`;
  if ((m = /^(\d{4})-?Q([1-4])$/i.exec(t))) return `${m[1]}-Q${m[2]}`;
  return null;
}

/** "15.000", "1.234,5", "8,5", "1234.5" as a number (vi-VN first); NaN if none. */
function parseNumber(text) {
  let t = text.trim().replace(/\s/g, "");
  if (/^-?\d{1,3}(\.\d{3})+(,\d+)?$/.test(t) || t.includes(",")) t = t.replace(/\./g, "").replace(",", ".");
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
}

function setUpTargetForm() {
  const form = $("target-form");
  if (!form) return;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const msg = $("target-message");
    const period = parsePeriod(form.period.value);
    const value = parseNumber(form.value.value);
    if (!period) return say(msg, "error", "Kỳ kế hoạch viết như 2026, 12/2026 hoặc Quý IV/2026.");
    if (Number.isNaN(value)) return say(msg, "error", "Giá trị mục tiêu phải là một số, ví dụ 15.000 hoặc 8,5.");
    const t = { period, value, kind: form.kind.value, direction: form.direction.value, label: form.label.value.trim() };
    const next = [...targets.map(definition).filter((x) => !(x.period === period && x.kind === t.kind)), t];
    saveTargets(next, "Đã lưu mục tiêu.").then(() => {
      if (!msg.classList.contains("error")) form.reset();
    });
  });
}

async function refreshForecast() {
  const last = observations.length ? observations[observations.length - 1].period : null;
  const horizon = horizonFor(last, targets);
  const fc = observations.length ? await get(`${base}/forecast?horizon=${horizon}&level=80&level=95`).catch(() => null) : null;
  drawForecast(fc);
}

// -- details ------------------------------------------------------------------------------------------------
function setUpMetaForm() {
  const form = $("meta-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const msg = $("meta-message");
    const body = {
      name: form.name.value.trim(),
      unit: form.unit.value.trim(),
      source: form.source.value.trim(),
      department: form.department.value.trim(),
    };
    try {
      const out = await patch(base, body);
      $("ind-name").textContent = out.name;
      document.title = `${out.name} — Điều hành AI`;
      $("fact-unit").textContent = out.unit || "—";
      $("fact-source").textContent = out.source || "—";
      $("fact-department").textContent = out.department || "—";
      unit = out.unit;
      say(msg, "info", "Đã lưu thông tin chỉ tiêu.");
    } catch (err) {
      sayError(msg, err);
    }
  });
}

// -- anomalies ----------------------------------------------------------------------------------------------
const STATUS = { open: "chưa xem xét", acknowledged: "đã ghi nhận", closed: "đã đóng" };

function renderAnomalies() {
  const list = $("anomalies");
  list.replaceChildren();
  if (!anomalies.length) {
    list.append(el("li", "Không có kỳ nào nằm ngoài khoảng dự báo 95%.", "meta"));
    return;
  }
  for (const a of anomalies) {
    const dir = a.value > a.upper_95 ? "cao hơn" : "thấp hơn";
    const li = el("li");
    li.append(
      el("strong", `${periodLabel(a.period)}: ${withUnit(a.value)}`),
      ` — ${dir} khoảng dự kiến ${formatValue(a.lower_95)} – ${formatValue(a.upper_95)} (dự kiến ${formatValue(a.expected)}); ${STATUS[a.status] ?? a.status}.`,
    );
    if (a.note) li.append(el("div", `Ghi chú: ${a.note}`, "meta"));
    list.append(li);
  }
}

// -- seasonal adjustment ------------------------------------------------------------------------------------
async function drawSeasonal() {
  const status = $("sa-status");
  status.textContent = "Đang điều chỉnh mùa vụ…";
  let sa;
  try {
    sa = await get(`${base}/seasonal-adjustment`);
  } catch (err) {
    status.textContent = `Chưa điều chỉnh mùa vụ được: ${explain(err).text}`;
    return;
  }
  const pts = sa.points;
  const labels = pts.map((p) => periodLabel(p.period, true));
  const col = (k) => pts.map((p) => (typeof p[k] === "number" ? p[k] : null));
  const factor = sa.decomposition === "multiplicative" ? "hệ số" : "thành phần";
  const axisIndex = { xAxisIndex: 1, yAxisIndex: 1 };
  createChart($("sa-chart"), {
    grid: [
      { left: 8, right: 16, top: 56, height: "52%", containLabel: true },
      { left: 8, right: 16, bottom: 28, height: "18%", containLabel: true },
    ],
    axisPointer: { link: [{ xAxisIndex: "all" }] },
    xAxis: [categoryAxis(labels, { gridIndex: 0, axisLabel: { show: false } }), categoryAxis(labels, { gridIndex: 1 })],
    yAxis: [valueAxis(unit, { gridIndex: 0 }), valueAxis("", { gridIndex: 1, splitNumber: 2 })],
    // no unit in this tooltip: the lower panel's factors are ratios (or additive parts), not the unit
    tooltip: axisTooltip({ title: (i) => periodLabel(pts[i].period) }),
    series: [
      lineSeries("Số liệu gốc", col("value"), COLORS.seasonal, { lineStyle: { color: COLORS.seasonal, width: 1.5 } }),
      lineSeries("Đã điều chỉnh mùa vụ", col("adjusted"), COLORS.adjusted),
      lineSeries("Xu hướng", col("trend"), COLORS.trend),
      lineSeries(`Mùa vụ (${factor})`, col("seasonal"), COLORS.band80, { ...axisIndex, showSymbol: false }),
      ...(sa.tet ? [lineSeries(`Tết (${factor})`, col("holiday"), COLORS.anomaly, { ...axisIndex, showSymbol: false })] : []),
    ],
  });
  const parts = [`Phương pháp ${sa.method}, dạng ${sa.decomposition === "multiplicative" ? "nhân" : "cộng"}.`];
  if (sa.tet && typeof sa.tet.t === "number") {
    parts.push(Math.abs(sa.tet.t) >= 2 ? "Tết có ảnh hưởng rõ tới chỉ tiêu này." : "Ảnh hưởng của Tết không rõ rệt.");
  }
  status.textContent = parts.join(" ");
}

function setUpSeasonal() {
  const box = $("sa-chart");
  if (!box) return;
  if (!("IntersectionObserver" in window)) return void drawSeasonal();
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      io.disconnect();
      drawSeasonal();
    }
  }, { rootMargin: "200px" });
  io.observe(box);
}

// -- upload -------------------------------------------------------------------------------------------------
const LAYOUTS = {
  long: "một chuỗi số liệu (cột Kỳ và Giá trị)",
  long_multi: "nhiều chỉ tiêu, mỗi dòng một kỳ (cột Mã chỉ tiêu, Kỳ, Giá trị)",
  wide: "biểu báo cáo (mỗi dòng một chỉ tiêu, các kỳ theo cột)",
};
const ROLES = {
  period: "Kỳ", year: "Năm", month: "Tháng", quarter: "Quý", value: "Giá trị", code: "Mã chỉ tiêu",
  name: "Tên chỉ tiêu", unit: "Đơn vị tính", ignored: "bỏ qua (STT, ghi chú)", skipped: "bỏ qua", unknown: "không dùng",
};

function uploadForm(dryRun) {
  const form = $("upload-form");
  const data = new FormData();
  data.append("file", form.file.files[0]);
  for (const k of ["decimal", "sheet", "year"]) if (form[k].value) data.append(k, form[k].value);
  if (dryRun) data.append("dry_run", "true");
  return data;
}

function table(head, rows) {
  const t = el("table", undefined, "data-table");
  const tr = el("tr");
  head.forEach((h) => tr.append(el("th", h)));
  t.append(el("thead"), el("tbody"));
  t.tHead.append(tr);
  for (const r of rows) {
    const row = el("tr");
    r.forEach((c, i) => row.append(el("td", c, i > 0 && typeof c === "string" && /^-?[\d.]+(,\d+)?$/.test(c) ? "num" : undefined)));
    t.tBodies[0].append(row);
  }
  return t;
}

function renderPreview(plan) {
  const box = $("preview");
  const intake = plan.intake ?? {};
  box.replaceChildren();
  box.hidden = false;
  box.append(el("h3", "Xem trước: những gì sẽ được lưu"));
  const facts = el("ul", undefined, "preview-facts");
  facts.append(el("li", `Bố cục tệp: ${LAYOUTS[intake.layout] ?? intake.layout ?? "—"}${intake.header_row ? `, dòng tiêu đề cột là dòng ${intake.header_row}` : ""}.`));
  if (intake.sheet) facts.append(el("li", `Trang tính: ${intake.sheet}.`));
  if (intake.decimal) facts.append(el("li", `Dấu thập phân: “${intake.decimal}” (${intake.decimal === "," ? "1.234,5" : "1,234.5"}).`));
  if (intake.unit) {
    const same = !unit || intake.unit.trim().toLowerCase() === unit.trim().toLowerCase();
    facts.append(el("li", `Đơn vị tính trong tệp: ${intake.unit}${same ? "" : ` — khác đơn vị của chỉ tiêu (${unit}), hãy kiểm tra`}.`, same ? "" : "warn"));
  }
  facts.append(
    el("li", `Sẽ thêm ${plan.inserted} kỳ mới, sửa ${plan.revised} kỳ đã có, ${plan.unchanged} kỳ không đổi.`, "preview-counts"),
  );
  box.append(facts);
  const cols = (intake.columns ?? []).map((c) => [`${c.letter} “${c.header || "(trống)"}”`, ROLES[c.role] ?? c.role]);
  if (cols.length) {
    box.append(el("h4", "Cách đọc các cột"), table(["Cột trong tệp", "Đọc là"], cols));
  }
  const warnings = intake.warnings ?? [];
  if (warnings.length) {
    const ul = el("ul", undefined, "warnings");
    warnings.forEach((w) => ul.append(el("li", w.text_vi ?? w.vi)));
    box.append(el("h4", `Lưu ý (${intake.warnings_total ?? warnings.length})`), ul);
  }
  const rowOf = new Map((intake.observations ?? []).map((o) => [o.period, o.row]));
  const rows = plan.observations.map((o) => [periodLabel(o.period), formatValue(o.value), rowOf.has(o.period) ? String(rowOf.get(o.period)) : ""]);
  box.append(el("h4", `Số liệu đọc được (${plan.observations.length} kỳ)`));
  const scroll = el("div", undefined, "table-scroll");
  scroll.append(table(["Kỳ", `Giá trị${unit ? ` (${unit})` : ""}`, "Dòng trong tệp"], rows));
  box.append(scroll);
  const actions = el("div", undefined, "row");
  const save = el("button", "Lưu");
  save.type = "button";
  const cancel = el("button", "Hủy", "secondary");
  cancel.type = "button";
  actions.append(save, cancel);
  box.append(actions);
  cancel.addEventListener("click", () => {
    box.hidden = true;
    $("upload-message").hidden = true;
  });
  save.addEventListener("click", () => commit(save, cancel));
  save.focus();
}

async function commit(save, cancel) {
  const msg = $("upload-message");
  save.disabled = cancel.disabled = true;
  say(msg, "info", "Đang lưu…");
  try {
    const r = await post(`${base}/observations`, uploadForm(false));
    $("preview").hidden = true;
    let text = `Đã lưu: thêm ${r.inserted} kỳ mới, sửa ${r.revised} kỳ, ${r.unchanged} kỳ không đổi.`;
    if (r.anomalies?.length) text += ` Có ${r.anomalies.length} kỳ bất thường (ngoài khoảng dự báo 95%): xem mục Bất thường.`;
    say(msg, "info", text);
    $("upload-form").reset();
    await reloadData();
  } catch (err) {
    sayError(msg, err);
    save.disabled = cancel.disabled = false;
  }
}

function setUpUpload() {
  const form = $("upload-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const msg = $("upload-message");
    const button = $("preview-button");
    $("preview").hidden = true;
    button.disabled = true;
    say(msg, "info", "Đang đọc tệp…");
    try {
      const plan = await post(`${base}/observations`, uploadForm(true));
      msg.hidden = true;
      renderPreview(plan);
    } catch (err) {
      sayError(msg, err);
      const problems = err instanceof ApiError ? err.detail?.problems : null;
      if (Array.isArray(problems) && problems.length) {
        const ul = el("ul");
        problems.forEach((p) => ul.append(el("li", p.text_vi)));
        msg.append(ul);
      }
    } finally {
      button.disabled = false;
    }
  });
}

/** After a commit: the table, the charts, the anomalies and the targets from the new data. */
async function reloadData() {
  await loadAll(true);
  const body = $("data-rows");
  body.replaceChildren();
  for (const o of [...observations].reverse()) {
    const tr = el("tr");
    tr.append(el("th", periodLabel(o.period)), el("td", formatValue(o.value), "num"));
    tr.firstChild.scope = "row";
    body.append(tr);
  }
}

// -- start --------------------------------------------------------------------------------------------------
setUpMetaForm();
setUpTargetForm();
setUpUpload();
setUpSeasonal();
loadAll().catch((err) => {
  $("forecast-status").textContent = `Không tải được số liệu: ${explain(err).text}`;
});
