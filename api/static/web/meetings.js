// Cuộc họp: drag-and-drop upload; after the upload the browser follows the new meeting's page.
import { post } from "./api.js";

const form = document.getElementById("upload-form");
const zone = document.getElementById("dropzone");
const input = document.getElementById("file");
const fileName = document.getElementById("file-name");
const message = document.getElementById("upload-message");
const button = document.getElementById("upload-button");

function show(text, kind = "info") {
  message.textContent = text;
  message.className = `message ${kind}`;
  message.hidden = false;
}

function chosen() {
  const file = input.files[0];
  fileName.textContent = file ? `Đã chọn: ${file.name}` : "";
}

input.addEventListener("change", chosen);
for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  zone.addEventListener(type, () => zone.classList.remove("over"));
}
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files.length) {
    input.files = e.dataTransfer.files;
    chosen();
  }
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!input.files.length) {
    show("Chọn hoặc kéo thả một tệp ghi âm trước khi tải lên.", "error");
    return;
  }
  const data = new FormData(form);
  data.delete("csrf_token"); // the header carries it
  if (!data.get("speakers")) data.delete("speakers");
  button.disabled = true;
  show("Đang tải lên…");
  try {
    const accepted = await post("/v1/transcriptions", data);
    show("Đã tải lên; đang chuyển đến trang theo dõi cuộc họp…");
    location.assign(`/cuoc-hop/${accepted.id}`);
  } catch (err) {
    show(`Không tải lên được: ${err.message}`, "error");
    button.disabled = false;
  }
});
