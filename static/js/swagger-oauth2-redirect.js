// The page Swagger UI's OAuth 2.0 popup comes back to (/api/v1/oauth2-redirect.html): it hands the authorization
// code (or the error) to the Swagger page that opened it, then closes. Swagger UI ships this as an inline script
// (swagger-ui-dist's oauth2-redirect.html, Apache License 2.0); it lives in a file here so the Content-Security-
// Policy can keep forbidding inline script. The state check is the one Swagger UI makes.
"use strict";

function parameters() {
  const raw = /code|token|error/.test(window.location.hash) ? window.location.hash.substring(1) : window.location.search.substring(1);
  return Object.fromEntries(new URLSearchParams(raw));
}

function run() {
  const oauth2 = window.opener && window.opener.swaggerUIRedirectOauth2;
  if (!oauth2) {
    document.getElementById("message").textContent =
      "This page finishes an authorization started from the API's Swagger page (/api/v1/docs). Open that page and press Authorize.";
    return;
  }
  const qp = parameters();
  const isValid = qp.state === oauth2.state;
  const flow = oauth2.auth.schema.get("flow");
  if ((flow === "accessCode" || flow === "authorizationCode" || flow === "authorization_code") && !oauth2.auth.code) {
    if (!isValid) {
      oauth2.errCb({authId: oauth2.auth.name, source: "auth", level: "warning",
                    message: "Authorization may be unsafe: the state sent was not the state returned."});
    }
    if (qp.code) {
      delete oauth2.state;
      oauth2.auth.code = qp.code;
      oauth2.callback({auth: oauth2.auth, redirectUrl: oauth2.redirectUrl});
    } else {
      const described = qp.error ? `[${qp.error}]: ${qp.error_description || "no authorization code received."}` : null;
      oauth2.errCb({authId: oauth2.auth.name, source: "auth", level: "error",
                    message: described || "[Authorization failed]: no authorization code received from the server."});
    }
  } else {
    oauth2.callback({auth: oauth2.auth, token: qp, isValid: isValid, redirectUrl: oauth2.redirectUrl});
  }
  window.close();
}

if (document.readyState !== "loading") {
  run();
} else {
  document.addEventListener("DOMContentLoaded", run);
}
