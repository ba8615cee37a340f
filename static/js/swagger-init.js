// Starts Swagger UI on /api/v1/docs (kept out of the page so no inline script is needed).
"use strict";

// The API takes `Authorization: Bearer <token>` and nothing else. People paste the token alone into the
// Authorize dialog as often as with its scheme, so the page adds the missing "Bearer " before a request leaves:
// both work here, while the server still refuses a bare token from any other client.
function withBearerScheme(request) {
  const headers = request.headers || {};
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() !== "authorization") continue;
    const value = String(headers[name]).trim();
    if (value && !/^bearer\s/i.test(value)) headers[name] = "Bearer " + value;
  }
  return request;
}

window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset.slice(1)],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    docExpansion: "list",
    persistAuthorization: false,
    requestInterceptor: withBearerScheme,
    oauth2RedirectUrl: root.dataset.oauth2RedirectUrl,
  });
  // The bank's authorization server requires PKCE (S256) on every authorization-code flow.
  window.ui.initOAuth({usePkceWithAuthorizationCodeGrant: true});
});
