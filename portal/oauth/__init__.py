"""The OAuth 2.0 authorization server (Authlib): consent page, token and revocation endpoints, metadata."""
from portal.errors import answer_errors_of
from portal.extensions import csrf
from portal.oauth import routes
from portal.oauth.server import create_server


def init_app(app):
    """Build the app's authorization server and register the door.

    The token and revocation endpoints take client credentials, never cookies: a forged cross-site request has
    nothing to ride on there, so they alone are exempt from CSRF. The consent form keeps its CSRF token.
    """
    app.extensions[routes.SERVER] = create_server(app)
    csrf.exempt(routes.token)
    csrf.exempt(routes.revoke)
    app.register_blueprint(routes.bp)
    answer_errors_of(app, lambda path: path in routes.TOKEN_PATHS, routes.answer_error)
