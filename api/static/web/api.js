// The /v1 API from the pages: the session cookie goes by itself; writes add the session's CSRF token,
// which GET /v1/me hands out.
let me = null;

export class ApiError extends Error {
  /** `code` and `detail` are the API's error body fields (e.g. "invalid_file" and its problems). */
  constructor(status, message, code = "", detail = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function whoAmI() {
  me ??= request("GET", "/v1/me");
  return me;
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = (await whoAmI()).csrf_token;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const r = await fetch(url, { method, headers, body, credentials: "same-origin" });
  if (r.status === 401) {
    location.assign(`/dang-nhap?msg=het-han&next=${encodeURIComponent(location.pathname)}`);
    throw new ApiError(401, "Phiên đăng nhập đã hết hạn.");
  }
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, data?.error?.message || `Lỗi ${r.status}`, data?.error?.code, data?.error?.detail);
  return data;
}

export const get = (url) => request("GET", url);
export const post = (url, body) => request("POST", url, body);
export const patch = (url, body) => request("PATCH", url, body);
export const del = (url) => request("DELETE", url);
