"""Budget Buddy: a third-party app that connects to the bank with OAuth 2.0 (authorization code + PKCE S256).

Standard library only. Run `python examples/third_party_app/client.py --help`; see README.md beside it.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ApiError(Exception):
    """The bank answered with an error status: `status` and the JSON body it sent."""

    def __init__(self, status, body):
        """Keep the status and body for the caller."""
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def pkce_pair():
    """A fresh code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


class BankClient:
    """One connection to the bank: the authorization URL, the code exchange, the API calls, refresh."""

    def __init__(self, client_id, client_secret, *, base_url="http://127.0.0.1:5000",
                 redirect_uri="http://127.0.0.1:8765/callback", scope="accounts:read transactions:read"):
        """Make a fresh state and PKCE pair for this connection; the base URL must be http or https."""
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("the bank's URL must start with http:// or https://")
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.state = secrets.token_urlsafe(16)
        self.verifier, self.challenge = pkce_pair()
        self.access_token = None
        self.refresh_token = None

    def authorization_url(self):
        """Where to send the customer: the bank's consent page, with our state and PKCE challenge."""
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": self.scope, "state": self.state,
            "code_challenge": self.challenge, "code_challenge_method": "S256"})
        return f"{self.base_url}/oauth/authorize?{query}"

    def code_from_callback(self, query):
        """The code in the callback's query string, after checking the state is ours (else ValueError)."""
        params = urllib.parse.parse_qs(query)
        if params.get("state", [None])[0] != self.state:
            raise ValueError("the state in the callback is not the one this client sent: refusing it")
        if "error" in params:
            raise ValueError(f"the bank said: {params['error'][0]} {params.get('error_description', [''])[0]}")
        if "code" not in params:
            raise ValueError("the callback carries no code")
        return params["code"][0]

    def _token_request(self, fields):
        basic = base64.b64encode(f"{urllib.parse.quote(self.client_id, safe='')}:"
                                 f"{urllib.parse.quote(self.client_secret, safe='')}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.base_url}/oauth/token", data=urllib.parse.urlencode(fields).encode(), method="POST",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        tokens = _send(request)
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)
        return tokens

    def exchange(self, code):
        """Trade the code (with the PKCE verifier, HTTP Basic client authentication) for tokens."""
        return self._token_request({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": self.redirect_uri, "code_verifier": self.verifier})

    def refresh(self):
        """A new access token for the refresh token; the bank rotates the refresh token too."""
        return self._token_request({"grant_type": "refresh_token", "refresh_token": self.refresh_token})

    def get(self, path):
        """GET an API path (e.g. "/accounts") with the access token; ApiError on an error status."""
        request = urllib.request.Request(f"{self.base_url}/api/v1{path}",  # noqa: S310 (scheme checked)
                                         headers={"Authorization": f"Bearer {self.access_token}"})
        return _send(request)

    def balances(self):
        """[(account, balance)] for every account the customer granted."""
        return [(account, self.get(f"/accounts/{account['id']}/balance"))
                for account in self.get("/accounts")["data"]]


def _send(request):
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (scheme checked)
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        raise ApiError(error.code, body) from None


class CallbackServer:
    """Listens on the redirect URI's host and port for the one callback; `wait()` returns its query string."""

    def __init__(self, redirect_uri):
        """Port 0 picks a free port: read it back from `redirect_uri` before building the client."""
        parts = urllib.parse.urlsplit(redirect_uri)
        self.path = parts.path or "/"
        self.received = threading.Event()
        self.query = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urllib.parse.urlsplit(self.path)
                if parts.path != outer.path:
                    self.send_error(404)
                    return
                outer.query = parts.query
                body = b"<!doctype html><title>Budget Buddy</title><h1>Thanks, you can close this tab.</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.received.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((parts.hostname, parts.port or 80), Handler)
        self.redirect_uri = f"http://{parts.hostname}:{self.server.server_port}{self.path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, timeout=None):
        """Block until the bank redirects the browser back here; the callback's query string."""
        if not self.received.wait(timeout):
            raise TimeoutError("no callback came")
        return self.query

    def close(self):
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


def show_balances(client, out):
    """Print each granted account with its balance."""
    for account, balance in client.balances():
        print(f"  {account['name']:<20} {account['number']}  {balance['balance']} {balance['currency']}", file=out)


def run(client, *, open_browser=False, out=sys.stdout, timeout=None, callback=None):
    """The whole flow: print the URL, wait for the callback, get tokens, show balances, refresh, show them again."""
    callback = callback or CallbackServer(client.redirect_uri)
    try:
        url = client.authorization_url()
        print(f"Open this URL, log in and press Allow:\n\n  {url}\n", file=out, flush=True)
        if open_browser:
            webbrowser.open(url)
        code = client.code_from_callback(callback.wait(timeout))
    finally:
        callback.close()
    tokens = client.exchange(code)
    print(f"Got an access token (expires in {tokens['expires_in']} s) for: {tokens['scope']}", file=out)
    print("Balances you granted:", file=out)
    show_balances(client, out)
    client.refresh()
    print("Refreshed: a new access token and a new refresh token (the old one is now spent).", file=out)
    show_balances(client, out)
    return client


def main(argv=None):
    """The command line: run the flow, then wait for the customer to revoke and show the refusal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id", default=os.environ.get("CLIENT_ID"), help="or env CLIENT_ID")
    parser.add_argument("--client-secret", default=os.environ.get("CLIENT_SECRET"), help="or env CLIENT_SECRET")
    parser.add_argument("--base-url", default=os.environ.get("BANK_URL", "http://127.0.0.1:5000"),
                        help="the bank (or env BANK_URL; default %(default)s)")
    parser.add_argument("--redirect-uri", default="http://127.0.0.1:8765/callback",
                        help="must be registered exactly (default %(default)s)")
    parser.add_argument("--scope", default="accounts:read transactions:read")
    parser.add_argument("--open", action="store_true", help="open the URL in the default browser")
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error("give --client-id and --client-secret (or CLIENT_ID and CLIENT_SECRET)")
    client = BankClient(args.client_id, args.client_secret, base_url=args.base_url,
                        redirect_uri=args.redirect_uri, scope=args.scope)
    try:
        run(client, open_browser=args.open)
    except (ApiError, ValueError) as error:
        print(f"Failed: {error}", file=sys.stderr)
        return 1
    print("\nNow revoke the app on /connected-apps (or suspend it in the back-office) and press Enter.")
    try:
        input()
    except EOFError:
        return 0
    try:
        show_balances(client, sys.stdout)
    except ApiError as error:
        print(f"The bank refuses: {error.status} {error.body}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
