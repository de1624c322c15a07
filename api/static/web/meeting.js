// One meeting: follows the transcription's progress, then shows the downloads and the transcript editor
// (player synchronised with the segments, inline editing, renaming a speaker everywhere).
import { get, patch } from "./api.js";
import { clock, duration, formatPercent } from "./format.js";

const root = document.getElementById("meeting");
const id = root.dataset.id;
// Read-only for those who see the meeting only because its owner shared it with viewers.
const editable = root.dataset.editable === "1";
const base = `/v1/transcriptions/${id}`;
const $ = (name) => document.getElementById(name);
const player = $("player");
const list = $("segments");
const LOW = 0.5; // a word the model gave less than this probability is worth a listen
const STATUS = { queued: "Đang chờ xử lý", running: "Đang chuyển thành văn bản", failed: "Lỗi" };

let segments = [];

function say(text, kind = "info") {
  const node = $("editor-message");
  node.textContent = text;
  node.className = `message ${kind}`;
  node.hidden = !text;
}

async function follow() {
  let t;
  try {
    t = await get(base);
  } catch (err) {
    $("progress-text").textContent = `Không đọc được trạng thái: ${err.message}. Thử lại sau ít giây…`;
    setTimeout(follow, 5000);
    return;
  }
  $("progress").value = t.progress;
  if (t.status === "succeeded") {
    $("progress-box").hidden = true;
    $("downloads").hidden = false;
    show(t);
    return;
  }
  if (t.status === "failed") {
    $("progress-text").textContent = `Lỗi: ${t.error || "không rõ"}`;
    $("progress-box").classList.add("failed");
    return;
  }
  const parts = [`${STATUS[t.status] || t.status}: ${formatPercent(t.progress)}`];
  if (t.duration_s) parts.push(`bản ghi dài ${duration(t.duration_s)}`);
  if (t.message) parts.push(t.message);
  $("progress-text").textContent = parts.join(" · ");
  setTimeout(follow, 1000);
}

function doubtful(seg) {
  return seg.repaired || seg.words.some((w) => w.probability < LOW);
}

function row(seg) {
  const li = document.createElement("li");
  li.className = "segment";
  li.dataset.idx = seg.idx;
  if (doubtful(seg)) li.classList.add("doubtful");

  const head = document.createElement("div");
  head.className = "segment-head";
  const time = document.createElement("button");
  time.type = "button";
  time.className = "time";
  time.textContent = clock(seg.start);
  time.setAttribute("aria-label", `Nghe từ ${clock(seg.start)}`);
  time.addEventListener("click", () => {
    player.currentTime = seg.start;
    player.play().catch(() => {});
  });
  const speaker = document.createElement("span");
  speaker.className = "speaker";
  speaker.textContent = seg.speaker || "Chưa rõ người nói";
  head.append(time, speaker);
  if (doubtful(seg)) {
    const flag = document.createElement("span");
    flag.className = "flag";
    flag.textContent = seg.repaired ? "cần nghe lại (đã sửa lặp)" : "cần nghe lại (độ tin cậy thấp)";
    head.append(flag);
  }

  const text = document.createElement("p");
  text.className = "text";
  text.textContent = seg.text;
  if (editable) makeEditable(seg, text);
  li.append(head, text);
  return li;
}

function makeEditable(seg, text) {
  try {
    text.contentEditable = "plaintext-only";
  } catch {
    text.contentEditable = "true"; // browsers without plaintext-only
  }
  text.spellcheck = true;
  text.setAttribute("role", "textbox");
  text.setAttribute("aria-label", `Lời đoạn ${seg.idx + 1}`);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      text.blur();
    }
  });
  text.addEventListener("blur", () => save(seg, text));
}

async function save(seg, node) {
  const value = node.textContent.trim();
  if (value === seg.text) return;
  node.classList.add("saving");
  try {
    const out = await patch(`${base}/segments/${seg.idx}`, { text: value });
    seg.text = out.text;
    node.classList.remove("saving");
    node.classList.add("saved");
    say(`Đã lưu đoạn ${seg.idx + 1}.`);
  } catch (err) {
    node.classList.remove("saving");
    say(`Chưa lưu được đoạn ${seg.idx + 1}: ${err.message}`, "error");
  }
}

function speakersMenu() {
  if (!editable) return;
  const select = $("rename-from");
  const names = [...new Set(segments.map((s) => s.speaker).filter(Boolean))];
  select.replaceChildren(...names.map((n) => new Option(n, n)));
  $("rename-form").hidden = names.length === 0;
}

function show(t) {
  segments = t.segments;
  list.replaceChildren(...segments.map(row));
  speakersMenu();
  $("editor").hidden = false;
}

$("rename-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const from = $("rename-from").value;
  const to = $("rename-to").value.trim();
  if (!from || !to || from === to) return;
  const targets = segments.filter((s) => s.speaker === from);
  say(`Đang đổi “${from}” thành “${to}” trong ${targets.length} đoạn…`);
  try {
    for (const seg of targets) {
      const out = await patch(`${base}/segments/${seg.idx}`, { speaker: to });
      seg.speaker = out.speaker;
      list.querySelector(`li[data-idx="${seg.idx}"] .speaker`).textContent = to;
    }
    speakersMenu();
    $("rename-to").value = "";
    say(`Đã đổi tên người nói thành “${to}” trong ${targets.length} đoạn.`);
  } catch (err) {
    say(`Đổi tên chưa xong: ${err.message}. Các đoạn đã đổi vẫn được lưu; thử lại.`, "error");
    speakersMenu();
  }
});

// Sharing with viewers (owner and admins): saved at once, undone on the page when refused.
$("share")?.addEventListener("change", async (e) => {
  const box = e.target;
  const node = $("share-message");
  box.disabled = true;
  try {
    const out = await patch(base, { shared_with_viewers: box.checked });
    box.checked = out.shared_with_viewers;
    node.textContent = out.shared_with_viewers
      ? "Đã chia sẻ: lãnh đạo (người xem) đọc và tải được biên bản này."
      : "Đã thôi chia sẻ: chỉ bạn và quản trị viên xem được biên bản này.";
    node.className = "message info";
  } catch (err) {
    box.checked = !box.checked;
    node.textContent = `Chưa lưu được: ${err.message}`;
    node.className = "message error";
  } finally {
    node.hidden = false;
    box.disabled = false;
  }
});

// The segment being played is highlighted (and kept in view while playing).
player.addEventListener("timeupdate", () => {
  const now = player.currentTime;
  const playing = segments.find((s) => now >= s.start && now < s.end);
  list.querySelectorAll("li.playing").forEach((li) => {
    if (!playing || li.dataset.idx !== String(playing.idx)) li.classList.remove("playing");
  });
  if (playing) {
    const li = list.querySelector(`li[data-idx="${playing.idx}"]`);
    if (!li.classList.contains("playing")) {
      li.classList.add("playing");
      if (!player.paused) li.scrollIntoView({ block: "nearest" });
    }
  }
});

follow();
