// Apache ECharts for every page: Vietnamese locale, vi-VN numbers on axes and in tooltips, charts that follow
// their box's size, and uncertainty bands. No build step: ECharts is vendored by scripts/setup, so a page
// that draws charts loads it in its template's head block, before its own module:
//
//   {% block head %}
//   <script src="/static/vendor/echarts/echarts.min.js"></script>
//   <script src="/static/vendor/echarts/langVI.js"></script>
//   <script type="module" src="/static/web/mypage.js"></script>
//   {% endblock %}
//
// and its module draws with this helper (window.echarts underneath):
//
//   import { createChart, categoryAxis, valueAxis, lineSeries, bandSeries, axisTooltip } from "./charts.js";
//   const chart = createChart(document.getElementById("chart"), {
//     xAxis: categoryAxis(labels),                         // strings, e.g. periodLabel(p, true)
//     yAxis: valueAxis("tỷ đồng"),                         // vi-VN ticks ("39.372", "4,5 Tr"), unit as the axis name
//     tooltip: axisTooltip({ unit: "tỷ đồng", title: (i) => longLabels[i] }),
//     series: [lineSeries("Thực tế", values), ...bandSeries("Khoảng 80%", lower, upper)],
//   });
//
// Values are numbers or null (a gap). The container needs a height (CSS class .chart gives one).
import { formatAxis, formatValue } from "./format.js";

/** Colours that read on white and for the common colour-blindnesses (Okabe-Ito based). */
export const COLORS = {
  actual: "#1f4e79",
  forecast: "#c2410c",
  band80: "#e69f00",
  band95: "#f3c26b",
  target: "#009e73",
  anomaly: "#b00020",
  trend: "#6a3d9a",
  adjusted: "#0072b2",
  seasonal: "#56707f",
};

const charts = new Set();
let listening = false;

function resizeAll() {
  for (const c of charts) if (!c.isDisposed()) c.resize();
}

/**
 * An ECharts instance on `el` with locale "VI" (langVI.js), canvas rendering (the SVG one writes style
 * attributes, which the pages' CSP refuses) and ARIA
 * descriptions, resized with the window and with its box; `option` is set at once when given.
 * Throws a Vietnamese error when ECharts was not loaded by the template.
 */
export function createChart(el, option) {
  const echarts = window.echarts;
  if (!echarts) throw new Error("Không tải được thư viện biểu đồ (ECharts).");
  const chart = echarts.getInstanceByDom(el) ?? echarts.init(el, null, { locale: "VI" });
  charts.add(chart);
  if (!listening) {
    window.addEventListener("resize", resizeAll);
    listening = true;
  }
  if ("ResizeObserver" in window) new ResizeObserver(() => chart.isDisposed() || chart.resize()).observe(el);
  if (option) chart.setOption({ ...baseOption(), ...option }, true);
  return chart;
}

/** What every chart shares: font, grid with room for the axes, an accessible description, a legend on top. */
export function baseOption() {
  return {
    aria: { enabled: true },
    textStyle: { fontFamily: "system-ui, 'Segoe UI', Roboto, sans-serif" },
    grid: { left: 8, right: 16, top: 56, bottom: 24, containLabel: true },
    legend: { top: 0, type: "scroll", textStyle: { fontSize: 13 } },
    animationDuration: 300,
  };
}

/** A category X axis of `labels` (already in Vietnamese, e.g. "01/2024"). */
export function categoryAxis(labels, extra = {}) {
  return { type: "category", data: labels, boundaryGap: false, axisLabel: { hideOverlap: true }, ...extra };
}

/** A value Y axis with vi-VN ticks ("1.234,5", "4,5 Tr"); `unit` shown as its name. */
export function valueAxis(unit = "", extra = {}) {
  return {
    type: "value",
    scale: true,
    name: unit,
    nameTextStyle: { align: "left" },
    axisLabel: { formatter: (v) => formatAxis(v) },
    splitLine: { lineStyle: { color: "#e3e8ee" } },
    ...extra,
  };
}

/** A line series; `values` numbers or null. */
export function lineSeries(name, values, color, extra = {}) {
  return {
    type: "line",
    name,
    data: values.map((v) => v ?? "-"),
    showSymbol: values.length < 60,
    symbolSize: 5,
    connectNulls: false,
    itemStyle: color ? { color } : undefined,
    lineStyle: color ? { color, width: 2 } : { width: 2 },
    ...extra,
  };
}

/**
 * An uncertainty band between `lower` and `upper` (arrays of numbers or null, on the chart's categories), as two
 * stacked series: an invisible base at `lower` and the filled width above it. Works with bands that cross zero.
 * The axis tooltip of :func:`axisTooltip` shows it as one row "name: lower – upper".
 */
export function bandSeries(name, lower, upper, color = COLORS.band80, opacity = 0.35) {
  const stack = `band:${name}`;
  const common = { type: "line", stack, stackStrategy: "all", symbol: "none", lineStyle: { opacity: 0 }, z: 1 };
  return [
    // the base carries the band's colour too: the legend draws the first series of a name
    { ...common, id: `${stack}:base`, name, color, data: lower.map((v) => v ?? "-"), tooltip: { show: false } },
    {
      ...common,
      id: stack,
      name,
      color,
      areaStyle: { color, opacity },
      data: lower.map((lo, i) =>
        lo === null || lo === undefined || upper[i] === null || upper[i] === undefined
          ? "-"
          : { value: upper[i] - lo, lower: lo, upper: upper[i] },
      ),
    },
  ];
}

/**
 * An axis-triggered tooltip (HTML, classes of app.css only) listing every series at the hovered category in vi-VN numbers: "Thực tế: 1.234,5
 * tỷ đồng", bands as "Khoảng 80%: 1.100 – 1.300". `title(index)` gives the heading (default: the axis label);
 * `extra(index)` may return more HTML-free lines (plain text, escaped here).
 */
export function axisTooltip({ unit = "", title, extra } = {}) {
  const withUnit = (v) => (unit ? `${formatValue(v)} ${unit}` : formatValue(v));
  return {
    trigger: "axis",
    confine: true,
    axisPointer: { type: "line" },
    valueFormatter: (v) => (typeof v === "number" ? withUnit(v) : ""),
    formatter: (params) => {
      const list = Array.isArray(params) ? params : [params];
      if (!list.length) return "";
      const i = list[0].dataIndex;
      const lines = [];
      for (const p of list) {
        if (String(p.seriesId).endsWith(":base")) continue;
        const d = p.data;
        if (d === "-" || d === null || d === undefined) continue;
        if (typeof d === "object" && "lower" in d) {
          lines.push(`${dot(p.color)}${escape(p.seriesName)}: ${formatValue(d.lower)} – ${formatValue(d.upper)}`);
        } else {
          const v = typeof d === "object" ? (Array.isArray(d.value) ? d.value[1] : d.value) : d;
          if (typeof v !== "number") continue;
          lines.push(`${dot(p.color)}${escape(p.seriesName)}: <b>${escape(withUnit(v))}</b>`);
        }
      }
      for (const line of extra?.(i) ?? []) lines.push(escape(line));
      const head = title ? title(i) : list[0].axisValueLabel;
      return [`<b>${escape(head)}</b>`, ...lines].join("<br>");
    },
  };
}

// ECharts' own tooltip markers carry style attributes, which the CSP refuses: ours are classes of app.css
// (.chart-dot-<name of COLORS>), grey for a colour outside COLORS.
const DOT_CLASS = new Map(Object.entries(COLORS).map(([k, c]) => [c.toLowerCase(), `chart-dot-${k}`]));

function dot(color) {
  const cls = typeof color === "string" ? DOT_CLASS.get(color.toLowerCase()) : undefined;
  return `<span class="chart-dot ${cls ?? ""}" aria-hidden="true"></span>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
