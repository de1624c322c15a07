// Bộ chỉ tiêu: filter the server-rendered catalogue as one types (the form still works without JavaScript).
const table = document.getElementById("ind-table");
const q = document.getElementById("q");
const freq = document.getElementById("tan_suat");
const count = document.getElementById("ind-count");
const none = document.getElementById("ind-none");

function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
}

function apply() {
  if (!table) return;
  const words = fold(q.value.trim()).split(/\s+/).filter(Boolean);
  const f = freq.value;
  const rows = [...table.tBodies[0].rows];
  let shown = 0;
  for (const row of rows) {
    const text = fold(row.dataset.search);
    const ok = (!f || row.dataset.frequency === f) && words.every((w) => text.includes(w));
    row.hidden = !ok;
    if (ok) shown += 1;
  }
  count.textContent = `Hiển thị ${shown} / ${rows.length} chỉ tiêu.`;
  none.hidden = shown > 0;
  table.hidden = shown === 0;
}

q?.addEventListener("input", apply);
freq?.addEventListener("change", apply);
