// vi-VN dates, numbers and durations, always in the province's time zone.
const TZ = "Asia/Ho_Chi_Minh";
const dateTime = new Intl.DateTimeFormat("vi-VN", {
  timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
}); // "09:23 05/12/2026"
const number = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat("vi-VN", { style: "percent", maximumFractionDigits: 0 });

export const formatDateTime = (iso) => dateTime.format(new Date(iso));
export const formatNumber = (value) => number.format(value);
export const formatPercent = (fraction) => percent.format(fraction);

/** "m:ss" (or "h:mm:ss") of a number of seconds, for timestamps in the transcript. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "12,5 phút" or "45 giây". */
export function duration(seconds) {
  return seconds >= 60 ? `${formatNumber(seconds / 60)} phút` : `${formatNumber(seconds)} giây`;
}

/** Rewrite server-rendered <time data-format> and [data-seconds] in vi-VN with Intl. */
export function localise(root = document) {
  root.querySelectorAll("time[data-format=datetime]").forEach((t) => {
    t.textContent = formatDateTime(t.getAttribute("datetime"));
  });
  root.querySelectorAll("[data-seconds]").forEach((n) => {
    n.textContent = duration(Number(n.dataset.seconds));
  });
}

// -- indicators: values and periods ------------------------------------------------------------------------
const value2 = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
const value1 = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat("vi-VN", { notation: "compact", maximumFractionDigits: 1 });
const ROMAN = ["I", "II", "III", "IV"];

/** An indicator's value in vi-VN: at most 1 decimal from 1.000 up, 2 below ("1.234,5", "0,25"); "" for none. */
export function formatValue(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  return (Math.abs(value) >= 1000 ? value1 : value2).format(value);
}

/** A short vi-VN number for chart axes: "39.372", and from a million up "1,2 Tr", "4,5 T" (triệu, tỷ). */
export function formatAxis(value) {
  return Math.abs(value) >= 1e6 ? compact.format(value) : value2.format(value);
}

/** A stored period in Vietnamese: "2024-01" -> "Tháng 1/2024", "2024-Q3" -> "Quý III/2024", "2024" -> "Năm 2024";
 *  short: "01/2024", "QIII/2024", "2024" (chart axes). */
export function periodLabel(period, short = false) {
  let m = /^(\d{4})-(\d{2})$/.exec(period);
  if (m) return short ? `${m[2]}/${m[1]}` : `Tháng ${Number(m[2])}/${m[1]}`;
  m = /^(\d{4})-Q([1-4])$/.exec(period);
  if (m) return short ? `Q${ROMAN[m[2] - 1]}/${m[1]}` : `Quý ${ROMAN[m[2] - 1]}/${m[1]}`;
  if (/^\d{4}$/.test(period)) return short ? period : `Năm ${period}`;
  return period;
}
