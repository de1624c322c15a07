// Quản trị: people's accounts (create, lock/unlock, reset password), API keys (create: the secret shown once;
// revoke) and the audit log (filters, pages). Everything goes through /v1 with the session's CSRF token.
import { del, get, patch, post, whoAmI } from "./api.js";
import { formatDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const PAGE = 25;
const ROLES = Object.fromEntries([...$("new-role").options].map((o) => [o.value, o.textContent]));
const ACTIONS = Object.fromEntries(
  [...$("audit-action").options].filter((o) => o.value && !o.value.endsWith(".")).map((o) => [o.value, o.textContent]),
);

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || ["title", "colspan", "role"].includes(k))
      node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const when = (iso) => (iso ? formatDateTime(iso) : "—");

function say(id, text, kind = "info") {
  const node = $(id);
  node.textContent = text;
  node.className = `message ${kind}`;
  node.hidden = !text;
}

function ask(title, text, okLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

/** On a phone the tables become cards: each cell says which column it is (CSS shows ``data-label``). */
function labelCells(table) {
  const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent);
  for (const tr of table.tBodies[0].rows) {
    [...tr.cells].forEach((td, i) => {
      if (tr.cells.length > 1) td.dataset.label = heads[i];
    });
  }
}

function emptyRow(tbody, cols, text) {
  tbody.replaceChildren(el("tr", {}, el("td", { colspan: String(cols), text })));
}

// ---- users ------------------------------------------------------------------------------------------------------
async function loadUsers() {
  const tbody = $("users-table").tBodies[0];
  let users;
  let me;
  try {
    [users, me] = await Promise.all([get("/v1/users"), whoAmI()]);
  } catch (err) {
    emptyRow(tbody, 6, `Không tải được: ${err.message}`);
    return;
  }
  if (!users.length) return emptyRow(tbody, 6, "Chưa có người dùng.");
  tbody.replaceChildren(
    ...users.map((u) => {
      const actions = el("td", { class: "actions" });
      if (u.id !== me.user_id) {
        actions.append(
          el("button", {
            type: "button",
            class: "secondary small",
            text: u.disabled ? "Mở khóa" : "Khóa",
            "aria-label": `${u.disabled ? "Mở khóa" : "Khóa"} ${u.username}`,
            onclick: () => toggleUser(u),
          }),
        );
      }
      actions.append(
        el("button", {
          type: "button",
          class: "secondary small",
          text: "Đặt lại mật khẩu",
          "aria-label": `Đặt lại mật khẩu của ${u.username}`,
          onclick: () => resetPassword(u),
        }),
      );
      return el(
        "tr",
        { "data-username": u.username },
        el("td", {}, el("code", { text: u.username })),
        el("td", { text: u.name }),
        el("td", { text: ROLES[u.role] || u.role }),
        el("td", {}, el("span", { class: u.disabled ? "state off" : "state on", text: u.disabled ? "đã khóa" : "đang dùng" })),
        el("td", { text: when(u.last_sign_in_at) }),
        actions,
      );
    }),
  );
  labelCells($("users-table"));
}

async function toggleUser(u) {
  const locking = !u.disabled;
  const ok = await ask(
    locking ? `Khóa tài khoản ${u.username}?` : `Mở khóa tài khoản ${u.username}?`,
    locking
      ? `${u.name} sẽ bị đăng xuất ngay và không đăng nhập được cho đến khi được mở khóa.`
      : `${u.name} sẽ đăng nhập lại được.`,
    locking ? "Khóa" : "Mở khóa",
  );
  if (!ok) return;
  try {
    await patch(`/v1/users/${u.id}`, { disabled: locking });
    say("users-message", locking ? `Đã khóa ${u.username}.` : `Đã mở khóa ${u.username}.`);
  } catch (err) {
    say("users-message", `Không đổi được: ${err.message}`, "error");
  }
  loadUsers();
  loadAudit();
}

function resetPassword(u) {
  const dialog = $("password-dialog");
  $("password-who").textContent = `Tài khoản ${u.username} (${u.name}).`;
  $("reset-password").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener(
    "close",
    async () => {
      const password = $("reset-password").value;
      $("reset-password").value = "";
      if (dialog.returnValue !== "ok" || !password) return;
      try {
        await post(`/v1/users/${u.id}/reset-password`, { password });
        say("users-message", `Đã đặt mật khẩu mới cho ${u.username}; các phiên đăng nhập cũ đã kết thúc.`);
      } catch (err) {
        say("users-message", `Chưa đặt được mật khẩu: ${err.message}`, "error");
      }
      loadAudit();
    },
    { once: true },
  );
}

$("user-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const data = Object.fromEntries(new FormData(form));
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const u = await post("/v1/users", data);
    form.reset();
    say("users-message", `Đã tạo người dùng ${u.username} (${ROLES[u.role] || u.role}).`);
    loadUsers();
    loadAudit();
  } catch (err) {
    say("users-message", `Chưa tạo được: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
});

// ---- API keys ---------------------------------------------------------------------------------------------------
async function loadKeys() {
  const tbody = $("keys-table").tBodies[0];
  let keys;
  try {
    keys = await get("/v1/keys");
  } catch (err) {
    emptyRow(tbody, 8, `Không tải được: ${err.message}`);
    return;
  }
  if (!keys.length) return emptyRow(tbody, 8, "Chưa có khóa nào.");
  tbody.replaceChildren(
    ...keys.map((k) =>
      el(
        "tr",
        { "data-key-id": String(k.id) },
        el("td", { text: String(k.id) }),
        el("td", { text: k.name }),
        el("td", { text: ROLES[k.role] || k.role }),
        el("td", {}, el("code", { text: k.prefix })),
        el("td", { text: when(k.created_at) }),
        el("td", { text: when(k.last_used_at) }),
        el("td", {}, el("span", { class: k.revoked_at ? "state off" : "state on", text: k.revoked_at ? `đã thu hồi ${when(k.revoked_at)}` : "đang dùng" })),
        el(
          "td",
          { class: "actions" },
          k.revoked_at
            ? null
            : el("button", {
                type: "button",
                class: "secondary small",
                text: "Thu hồi",
                "aria-label": `Thu hồi khóa ${k.name}`,
                onclick: () => revokeKey(k),
              }),
        ),
      ),
    ),
  );
  labelCells($("keys-table"));
}

async function revokeKey(k) {
  const ok = await ask(
    `Thu hồi khóa “${k.name}”?`,
    `Mọi yêu cầu dùng khóa ${k.prefix} sẽ bị từ chối ngay. Không hoàn tác được; muốn dùng lại phải tạo khóa mới.`,
    "Thu hồi",
  );
  if (!ok) return;
  try {
    await del(`/v1/keys/${k.id}`);
    say("keys-message", `Đã thu hồi khóa “${k.name}”.`);
  } catch (err) {
    say("keys-message", `Không thu hồi được: ${err.message}`, "error");
  }
  loadKeys();
  loadAudit();
}

$("key-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const k = await post("/v1/keys", Object.fromEntries(new FormData(form)));
    form.reset();
    $("new-key-value").value = k.key; // the only time the secret exists on a page
    $("new-key").hidden = false;
    $("new-key-value").focus();
    $("new-key-value").select();
    say("keys-message", `Đã tạo khóa “${k.name}” (${ROLES[k.role] || k.role}).`);
    loadKeys();
    loadAudit();
  } catch (err) {
    say("keys-message", `Chưa tạo được: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
});

$("copy-key").addEventListener("click", async () => {
  const input = $("new-key-value");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    say("keys-message", "Đã sao chép khóa.");
  } catch {
    say("keys-message", "Trình duyệt không cho sao chép tự động: khóa đã được chọn, bấm Ctrl+C.");
  }
});

// ---- audit log ----------------------------------------------------------------------------------------------------
let offset = 0;

/** "5/12/2026" or "05/12/2026" -> "2026-12-05"; null when it is no date. */
function isoDay(text) {
  const m = text.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/);
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function detailText(detail) {
  if (!detail) return "";
  return Object.entries(detail)
    .filter(([k]) => k !== "actor_subject")
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join("; ");
}

async function loadAudit() {
  const form = $("audit-form");
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    const value = String(v).trim();
    if (!value) continue;
    if (k === "start" || k === "end") {
      const iso = isoDay(value);
      if (!iso) {
        say("audit-message", `Ngày “${value}” không đúng dạng ngày/tháng/năm, ví dụ 05/12/2026.`, "error");
        return;
      }
      params.set(k, iso);
    } else params.set(k, value);
  }
  params.set("limit", String(PAGE + 1)); // one more than shown: is there a next page?
  params.set("offset", String(offset));
  const tbody = $("audit-table").tBodies[0];
  let rows;
  try {
    rows = await get(`/v1/audit?${params}`);
    say("audit-message", "");
  } catch (err) {
    say("audit-message", `Không lọc được: ${err.message}`, "error");
    return;
  }
  const more = rows.length > PAGE;
  rows = rows.slice(0, PAGE);
  if (!rows.length) emptyRow(tbody, 5, offset ? "Không còn mục nào." : "Không có mục nào khớp bộ lọc.");
  else
    tbody.replaceChildren(
      ...rows.map((r) =>
        el(
          "tr",
          { "data-action": r.action },
          el("td", { text: formatDateTime(r.at) }),
          el("td", { text: r.actor }),
          el("td", {}, el("abbr", { title: r.action, text: ACTIONS[r.action] || r.action })),
          el("td", { text: `${r.object_type} ${r.object_id}` }),
          el("td", { class: "detail", text: detailText(r.detail) }),
        ),
      ),
    );
  labelCells($("audit-table"));
  const page = Math.floor(offset / PAGE) + 1;
  $("audit-page").textContent = `Trang ${page}`;
  $("audit-prev").disabled = offset === 0;
  $("audit-next").disabled = !more;
}

$("audit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  offset = 0;
  loadAudit();
});
$("audit-form").addEventListener("reset", () => {
  offset = 0;
  setTimeout(loadAudit); // after the fields are cleared
});
$("audit-prev").addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  loadAudit();
});
$("audit-next").addEventListener("click", () => {
  offset += PAGE;
  loadAudit();
});

loadUsers();
loadKeys();
loadAudit();
