// Wall mode (/man-hinh): one panel at a time, cycling every data-cycle-s seconds; the data refresh by
// fetching this page again every data-refresh-s seconds (no reload); full screen on a button or "F"
// (browsers need a gesture); ← → change panel, the space bar pauses.
import { localise } from "./format.js";

const body = document.body;
const cycleMs = Math.max(2, Number(body.dataset.cycleS) || 20) * 1000;
const refreshMs = Math.max(5, Number(body.dataset.refreshS) || 60) * 1000;
const pauseButton = document.getElementById("wall-pause");
const fullButton = document.getElementById("wall-full");
const updated = document.getElementById("wall-updated");
let current = 0;
let paused = false;
let timer = null;

const panels = () => [...document.querySelectorAll(".wall-panel")];
const tabs = () => [...document.querySelectorAll(".wall-tab")];

function show(index) {
  const all = panels();
  if (!all.length) return;
  current = ((index % all.length) + all.length) % all.length;
  all.forEach((p, i) => { p.hidden = i !== current; });
  tabs().forEach((t, i) => {
    if (i === current) t.setAttribute("aria-current", "true");
    else t.removeAttribute("aria-current");
  });
  body.dataset.panel = String(current);
  restart();
}

function restart() {
  clearInterval(timer);
  if (!paused) timer = setInterval(() => show(current + 1), cycleMs);
}

function setPaused(value) {
  paused = value;
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseButton.textContent = paused ? "Tiếp tục" : "Tạm dừng";
  restart();
}

function wireTabs() {
  tabs().forEach((t, i) => t.addEventListener("click", () => show(i)));
}

async function toggleFullscreen() {
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await document.documentElement.requestFullscreen();
  } catch {
    updated.textContent = "Trình duyệt không cho phép toàn màn hình; dùng phím F11.";
  }
}

document.addEventListener("fullscreenchange", () => {
  fullButton.textContent = document.fullscreenElement ? "Thoát toàn màn hình" : "Toàn màn hình";
});

async function refresh() {
  try {
    const r = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!r.ok || new URL(r.url).pathname !== location.pathname) {
      updated.textContent = r.ok ? "Phiên đăng nhập đã hết hạn: đăng nhập lại để cập nhật số liệu."
        : `Không cập nhật được số liệu (lỗi ${r.status}); sẽ thử lại.`;
      return;
    }
    const fresh = new DOMParser().parseFromString(await r.text(), "text/html");
    for (const selector of [".wall-main", ".wall-tabs", "#wall-updated"]) {
      const next = fresh.querySelector(selector);
      const here = document.querySelector(selector);
      if (next && here) here.replaceChildren(...next.childNodes);
    }
    localise();
    wireTabs();
    show(current);
    body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
  } catch {
    updated.textContent = "Mất kết nối tới máy chủ; sẽ thử lại.";
  }
}

pauseButton.addEventListener("click", () => setPaused(!paused));
fullButton.addEventListener("click", toggleFullscreen);
document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const onButton = e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement;
  if (e.key === "ArrowRight" || e.key === "PageDown") show(current + 1);
  else if (e.key === "ArrowLeft" || e.key === "PageUp") show(current - 1);
  else if (e.key === " " && !onButton) { e.preventDefault(); setPaused(!paused); }
  else if (e.key === "f" || e.key === "F") toggleFullscreen();
  else return;
});

localise();
wireTabs();
show(0);
setInterval(refresh, refreshMs);
