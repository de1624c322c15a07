// Starts Swagger UI (served by the service, no CDN) over the OpenAPI document; the Authorize button
// takes an API key for the Bearer scheme.
window.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
