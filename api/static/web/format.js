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
