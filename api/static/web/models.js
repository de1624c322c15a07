// Mô hình: the registered models' versions side by side (champion marked, metrics under plain names with the
// technical name as a tooltip); for analysts: retrain with progress, compare two versions, promote and roll
// back through a confirmation dialog.
import { get, post } from "./api.js";
import { formatDateTime, formatNumber, formatPercent } from "./format.js";

const root = document.getElementById("models");
const canAct = root.dataset.canAct === "1";
const dialog = document.getElementById("confirm-dialog");

const MODEL_LABELS = {
  forecasting: ["Dự báo chỉ tiêu", "Chọn và kết hợp các phương pháp dự báo chuỗi số liệu."],
  sentiment: ["Phân tích cảm xúc bài viết", "Phân loại bài viết trên mạng: tiêu cực, trung lập, tích cực."],
  speech: ["Nhận dạng giọng nói", "Chuyển bản ghi âm cuộc họp thành văn bản (Whisper)."],
};

// key -> [plain Vietnamese name, format, which way is better]
const METRICS = {
  smape: ["sai số trung bình (%)", "percentValue", "low"],
  mase: ["sai số so với cách dự báo đơn giản (lần)", "number2", "low"],
  coverage_80: ["tỷ lệ khoảng 80% chứa giá trị thực", "fraction", 0.8],
  coverage_95: ["tỷ lệ khoảng 95% chứa giá trị thực", "fraction", 0.95],
  n_indicators: ["số chỉ tiêu dùng để đánh giá", "integer", null],
  n_series: ["số chuỗi số liệu đã kiểm tra", "integer", null],
  n_forecasts: ["số lần dự báo đã kiểm tra", "integer", null],
  macro_f1: ["độ chính xác cân bằng (F1)", "fraction", "high"],
  weighted_f1: ["độ chính xác theo tỷ trọng (F1)", "fraction", "high"],
  challenge_macro_f1: ["độ chính xác cân bằng trên câu khó (F1)", "fraction", "high"],
  accuracy: ["tỷ lệ phân loại đúng", "fraction", "high"],
  wer: ["tỷ lệ lỗi từ", "fraction", "low"],
  seconds: ["thời gian xử lý bản ghi mẫu (giây)", "number1", "low"],
  loops_flagged: ["số đoạn lặp phải sửa", "integer", "low"],
  size_mb: ["dung lượng (MB)", "number1", null],
};
const FREQUENCIES = { M: "chuỗi tháng", Q: "chuỗi quý", Y: "chuỗi năm", I: "chuỗi khác" };

/** [label, format, better] of a technical metric name: exact, then without the frequency prefix or the
 * evaluation prefixes, then by its ending (macro_f1, accuracy, ...). */
function metric(key) {
  if (METRICS[key]) return METRICS[key];
  const freq = key.match(/^([MQYI])_(.+)$/);
  if (freq && METRICS[freq[2]]) {
    const [label, fmt, better] = METRICS[freq[2]];
    return [`${label}, ${FREQUENCIES[freq[1]]}`, fmt, better];
  }
  const bare = key.replace(/^(metrics_)?(seed_)?(eval_)?/, "");
  if (METRICS[bare]) return METRICS[bare];
  const ending = Object.keys(METRICS)
    .sort((a, b) => b.length - a.length)
    .find((k) => key.endsWith(`_${k}`));
  if (ending) {
    const [label, fmt, better] = METRICS[ending];
    const set = key.slice(0, -ending.length - 1).replace(/^metrics_/, "").replaceAll("_", " ");
    return [`${label}, bộ ${set}`, fmt, better];
  }
  return [key, "number2", null];
}

function formatMetric(value, fmt) {
  if (value === undefined || value === null || Number.isNaN(value)) return "—";
  if (fmt === "fraction") return formatPercent(value);
  if (fmt === "percentValue") return `${formatNumber(value)}%`;
  if (fmt === "integer") return new Intl.NumberFormat("vi-VN").format(Math.round(value));
  if (fmt === "number2") return new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 }).format(value);
  return formatNumber(value);
}

/** Index of the better value among ``values`` (undefined when there is no "better" for the metric). */
function best(values, better) {
  const known = values.map((v, i) => [v, i]).filter(([v]) => typeof v === "number");
  if (better === null || known.length < 2) return undefined;
  const score = ([v]) => (better === "low" ? v : better === "high" ? -v : Math.abs(v - better));
  const sorted = [...known].sort((a, b) => score(a) - score(b));
  return score(sorted[0]) === score(sorted[1]) ? undefined : sorted[0][1];
}

/** The metrics shown in a model's table: its summary metrics or, for versions logged without them, the
 * F1/accuracy ones on the fixed evaluation set. */
function shownMetrics(model) {
  const keys = [];
  for (const v of model.versions) for (const k of Object.keys(v.key_metrics)) if (!keys.includes(k)) keys.push(k);
  if (!keys.length) {
    for (const v of model.versions) {
      for (const k of Object.keys(v.metrics)) {
        if (/(^|_)(seed_)?eval_(macro_f1|accuracy)$/.test(k) && !keys.includes(k)) keys.push(k);
      }
    }
  }
  if (model.name === "forecasting") keys.push("n_indicators");
  return keys;
}

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || ["title", "for", "scope", "role"].includes(k))
      node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const present = (...nodes) => nodes.filter((n) => n !== null && n !== undefined);

function metricHead(key) {
  const [label] = metric(key);
  return el("th", { scope: "row" }, el("abbr", { title: key, text: label }));
}

function championBadge() {
  return el("span", { class: "badge champion", text: "đang dùng" });
}

function versionsTable(model) {
  const keys = shownMetrics(model);
  const versions = model.versions;
  const table = el("table", { class: "versions" });
  table.append(el("caption", { class: "visually-hidden", text: `Các phiên bản của ${MODEL_LABELS[model.name]?.[0] || model.name}` }));
  const headRow = el("tr", {}, el("th", { scope: "col", text: "Chỉ số" }));
  for (const v of versions) {
    const th = el("th", { scope: "col", "data-version": v.version }, `Phiên bản ${v.version}`);
    if (v.version === model.champion) {
      th.classList.add("is-champion");
      th.append(" ", championBadge());
    }
    headRow.append(th);
  }
  table.append(el("thead", {}, headRow));
  const body = el("tbody");
  const created = el("tr", {}, el("th", { scope: "row", text: "Ngày tạo" }));
  for (const v of versions) created.append(el("td", { class: "when", text: formatDateTime(v.created_at).replace(" ", "\n") }));
  body.append(created);
  for (const key of keys) {
    const [, fmt, better] = metric(key);
    const values = versions.map((v) => v.metrics[key]);
    const winner = best(values, better);
    const tr = el("tr", {}, metricHead(key));
    values.forEach((value, i) => {
      const td = el("td", { class: "num", text: formatMetric(value, fmt) });
      if (i === winner) {
        td.classList.add("best");
        td.title = "tốt nhất trong các phiên bản (chỉ so được khi cùng dữ liệu đánh giá)";
      }
      if (versions[i].version === model.champion) td.classList.add("is-champion");
      tr.append(td);
    });
    body.append(tr);
  }
  if (model.name === "forecasting") {
    const same = el("tr", {}, el("th", { scope: "row", text: "Cùng dữ liệu với bản đang dùng" }));
    for (const v of versions) {
      const s = v.metrics_data?.same_as_champion;
      same.append(el("td", { text: s === true ? "có" : s === false ? "không" : "—" }));
    }
    body.append(same);
  }
  const desc = el("tr", {}, el("th", { scope: "row", text: "Mô tả" }));
  for (const v of versions) desc.append(el("td", { class: "desc", text: v.description || "—" }));
  body.append(desc);
  if (canAct) {
    const actions = el("tr", {}, el("th", { scope: "row", text: "Thao tác" }));
    for (const v of versions) {
      const td = el("td");
      if (v.version !== model.champion) {
        td.append(
          el("button", {
            type: "button",
            class: "secondary small",
            text: "Đưa vào dùng",
            "aria-label": `Đưa phiên bản ${v.version} vào dùng`,
            onclick: () => promote(model, v.version, false),
          }),
        );
      } else td.append(el("span", { class: "meta", text: "đang dùng" }));
      actions.append(td);
    }
    body.append(actions);
  }
  table.append(body);
  return el("div", { class: "table-wrap", tabIndex: 0, "aria-label": "Bảng phiên bản (cuộn ngang nếu cần)" }, table);
}

function allMetricsDetails(model) {
  const keys = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  if (!keys.length) return null;
  const table = el("table", { class: "versions all-metrics" });
  const head = el("tr", {}, el("th", { scope: "col", text: "Chỉ số" }));
  for (const v of model.versions) head.append(el("th", { scope: "col", text: `Phiên bản ${v.version}` }));
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (const key of keys) {
    const [, fmt] = metric(key);
    const tr = el("tr", {}, metricHead(key));
    for (const v of model.versions) tr.append(el("td", { class: "num", text: formatMetric(v.metrics[key], fmt) }));
    body.append(tr);
  }
  table.append(body);
  return el(
    "details",
    { class: "all" },
    el("summary", { text: `Tất cả chỉ số (${keys.length})` }),
    el("div", { class: "table-wrap", tabIndex: 0 }, table),
  );
}

// ---- confirmation dialog (no window.confirm) ----------------------------------------------------------------
function confirmDialog(title, text, okLabel) {
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

function say(model, text, kind = "info") {
  const node = document.getElementById(`msg-${model.name}`);
  node.textContent = text;
  node.className = `message ${kind}`;
  node.hidden = !text;
}

async function promote(model, version, rollback) {
  const label = MODEL_LABELS[model.name]?.[0] || model.name;
  const title = rollback ? `Quay lại phiên bản ${version}?` : `Đưa phiên bản ${version} vào dùng?`;
  const text = rollback
    ? `${label}: phiên bản ${model.champion} đang dùng sẽ được thay bằng phiên bản ${version} (phiên bản dùng trước đó). Hệ thống chuyển sang phiên bản này ngay, không cần khởi động lại.`
    : `${label}: phiên bản ${version} sẽ thay phiên bản ${model.champion ?? "hiện tại"} phục vụ mọi người dùng. Có thể quay lại phiên bản cũ bất cứ lúc nào.`;
  if (!(await confirmDialog(title, text, rollback ? "Quay lại" : "Đưa vào dùng"))) {
    say(model, "Đã hủy, không có gì thay đổi.");
    return;
  }
  say(model, `Đang nạp phiên bản ${version}…`);
  try {
    const out = await post(`/v1/models/${model.name}/promote`, { version });
    replace(out);
    say(
      findModel(out.name),
      rollback ? `Đã quay lại phiên bản ${out.champion}.` : `Phiên bản ${out.champion} đã được đưa vào dùng.`,
    );
  } catch (err) {
    say(model, `Không đổi được: ${err.message}`, "error");
  }
}

// ---- retraining with progress ---------------------------------------------------------------------------------
function remaining(job, startedAt) {
  const since = job.started_at ? new Date(job.started_at).getTime() : startedAt;
  const elapsed = (Date.now() - since) / 1000;
  if (job.progress < 0.03 || elapsed < 2) return "đang ước tính thời gian còn lại";
  const left = (elapsed * (1 - job.progress)) / job.progress;
  return left < 60 ? `còn khoảng ${Math.max(1, Math.round(left))} giây` : `còn khoảng ${formatNumber(left / 60)} phút`;
}

async function train(model, box) {
  const params = {};
  const combination = box.querySelector("select[name=combination]");
  if (combination?.value) params.combination = combination.value;
  const button = box.querySelector("button");
  const bar = box.querySelector("progress");
  const status = box.querySelector(".train-status");
  button.disabled = true;
  bar.hidden = false;
  bar.value = 0;
  status.textContent = "Đang gửi yêu cầu huấn luyện…";
  const startedAt = Date.now();
  try {
    const job = await post(`/v1/models/${model.name}/train`, { params });
    for (;;) {
      const j = await get(`/v1/jobs/${job.id}`);
      bar.value = j.progress;
      if (j.status === "succeeded") {
        await refresh();
        say(
          findModel(model.name),
          `Huấn luyện xong: đã đăng ký phiên bản ${j.result?.version ?? "mới"} (chưa đưa vào dùng; so sánh rồi bấm “Đưa vào dùng”).`,
        );
        return;
      }
      if (j.status === "failed") {
        status.textContent = `Huấn luyện lỗi: ${j.error || "không rõ"}`;
        status.classList.add("error");
        return;
      }
      const what = j.status === "queued" ? "Đang chờ đến lượt" : "Đang huấn luyện";
      status.textContent = `${what}: ${formatPercent(j.progress)} · ${remaining(j, startedAt)}`;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    status.textContent = `Không huấn luyện được: ${err.message}`;
    status.classList.add("error");
  } finally {
    button.disabled = false;
  }
}

function trainBox(model) {
  const box = el("div", { class: "train" });
  const row = el("div", { class: "row" });
  if (model.name === "forecasting") {
    const id = `combination-${model.name}`;
    row.append(
      el("label", { for: id, text: "Cách kết hợp các phương pháp" }),
      el(
        "select",
        { id, name: "combination" },
        new Option("mặc định (trung vị)", ""),
        new Option("trung bình", "mean"),
        new Option("trung vị", "median"),
      ),
    );
  }
  row.append(el("button", { type: "button", class: "secondary", text: "Huấn luyện lại", onclick: () => train(model, box) }));
  box.append(
    row,
    el("progress", { max: 1, value: 0, hidden: true, "aria-label": `Tiến độ huấn luyện ${model.name}` }),
    el("p", { class: "train-status", role: "status", "aria-live": "polite" }),
  );
  return box;
}

// ---- comparing two versions -------------------------------------------------------------------------------
function compareBox(model) {
  if (model.versions.length < 2) return null;
  const box = el("details", { class: "compare" });
  const form = el("form", { class: "compare-form" });
  const pick = (n, initial) => {
    const id = `cmp-${model.name}-${n}`;
    const select = el("select", { id, name: `v${n}` }, ...model.versions.map((v) => new Option(`Phiên bản ${v.version}`, v.version)));
    select.value = initial;
    return el("div", { class: "field" }, el("label", { for: id, text: n === 1 ? "Phiên bản thứ nhất" : "Phiên bản thứ hai" }), select);
  };
  const first = model.champion ?? model.versions[0].version;
  const second = model.versions.find((v) => v.version !== first).version;
  form.append(pick(1, first), pick(2, second), el("button", { type: "submit", class: "secondary", text: "So sánh" }));
  const out = el("div", { class: "compare-result", "aria-live": "polite" });
  const onSame = model.name === "forecasting" && canAct;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const a = form.elements.v1.value;
    const b = form.elements.v2.value;
    if (a === b) {
      out.replaceChildren(el("p", { class: "message error", text: "Chọn hai phiên bản khác nhau." }));
      return;
    }
    if (!onSame) {
      out.replaceChildren(
        el("p", { class: "hint", text: "Chỉ số đã ghi khi đánh giá từng phiên bản trên cùng bộ dữ liệu kiểm tra cố định:" }),
        compareTable(model, [a, b].map((v) => ({ version: v, metrics: model.versions.find((x) => x.version === v).metrics })), shownMetrics(model)),
      );
      return;
    }
    out.replaceChildren(el("p", { role: "status", text: "Đang chạy kiểm tra lại cả hai phiên bản trên số liệu hiện có…" }));
    try {
      const r = await post("/v1/models/forecasting/compare", { versions: [a, b] });
      out.replaceChildren(
        el("p", { class: "hint", text: `Kiểm tra lại trên cùng ${r.indicators} chỉ tiêu hiện có, ${r.windows} mốc dự báo mỗi chỉ tiêu:` }),
        compareTable(model, r.versions, ["smape", "mase", "coverage_80", "coverage_95"]),
      );
    } catch (err) {
      out.replaceChildren(el("p", { class: "message error", text: `Không so sánh được: ${err.message}` }));
    }
  });
  box.append(el("summary", { text: "So sánh hai phiên bản trên cùng dữ liệu" }), form, out);
  return box;
}

function compareTable(model, rows, keys) {
  const table = el("table", { class: "versions" });
  const head = el("tr", {}, el("th", { scope: "col", text: "Chỉ số" }));
  for (const r of rows) {
    const th = el("th", { scope: "col" }, `Phiên bản ${r.version}`);
    if (r.version === model.champion) th.append(" ", championBadge());
    head.append(th);
  }
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (const key of keys) {
    const [, fmt, better] = metric(key);
    const values = rows.map((r) => r.metrics[key]);
    const winner = best(values, better);
    const tr = el("tr", {}, metricHead(key));
    values.forEach((v, i) => {
      const td = el("td", { class: "num", text: formatMetric(v, fmt) });
      if (i === winner) {
        td.classList.add("best");
        td.append(el("span", { class: "visually-hidden", text: " (tốt hơn)" }));
      }
      tr.append(td);
    });
    body.append(tr);
  }
  table.append(body);
  return el("div", { class: "table-wrap", tabIndex: 0 }, table);
}

// ---- the page --------------------------------------------------------------------------------------------------
let models = [];
const findModel = (name) => models.find((m) => m.name === name);

function section(model) {
  const [label, what] = MODEL_LABELS[model.name] || [model.name, ""];
  const s = el("section", { class: "panel model", id: `model-${model.name}`, "aria-labelledby": `title-${model.name}` });
  s.append(
    el("h2", { id: `title-${model.name}` }, label, " ", el("small", { class: "meta", text: `(${model.name})` })),
    el("p", { class: "meta", text: what }),
  );
  const status = el("p", { class: "model-status" });
  if (model.champion) status.append("Đang dùng: ", el("strong", { text: `phiên bản ${model.champion}` }));
  else status.append("Chưa có phiên bản nào được đưa vào dùng.");
  if (model.serving && model.serving !== model.champion)
    status.append(` · máy chủ này còn phục vụ phiên bản ${model.serving} (sẽ chuyển trong ít phút)`);
  s.append(status);
  if (model.error) s.append(el("p", { class: "message error", text: `Không nạp được phiên bản mới nhất: ${model.error}` }));
  s.append(el("p", { id: `msg-${model.name}`, class: "message", role: "status", "aria-live": "polite", hidden: true }));
  if (canAct && model.previous_champion) {
    s.append(
      el(
        "p",
        { class: "rollback" },
        el("button", {
          type: "button",
          class: "secondary",
          text: `Quay lại phiên bản ${model.previous_champion}`,
          onclick: () => promote(model, model.previous_champion, true),
        }),
        el("span", { class: "hint", text: ` phiên bản dùng trước phiên bản ${model.champion}` }),
      ),
    );
  }
  if (!model.versions.length) {
    s.append(el("p", { text: "Chưa có phiên bản nào." }));
  } else {
    s.append(...present(versionsTable(model), compareBox(model), allMetricsDetails(model)));
  }
  if (canAct && model.trainable) s.append(trainBox(model));
  return s;
}

function replace(model) {
  const i = models.findIndex((m) => m.name === model.name);
  if (i >= 0) models[i] = model;
  const old = document.getElementById(`model-${model.name}`);
  const fresh = section(model);
  if (old) old.replaceWith(fresh);
  else root.append(fresh);
}

async function refresh() {
  try {
    models = await get("/v1/models");
  } catch (err) {
    root.replaceChildren(el("p", { class: "message error", text: `Không tải được danh sách mô hình: ${err.message}` }));
    return;
  }
  root.replaceChildren(...models.map(section));
}

refresh();
