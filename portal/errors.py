"""Error pages for people, and the API's envelope for its own paths: one place decides which."""
import logging
import math
import time

from flask import current_app, g, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from portal import unit_of_work
from portal.database import is_unavailable
from portal.extensions import limiter, login_manager
from portal.observability import loggable_path

log = logging.getLogger("portal.errors")

TITLES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Not logged in", "Please log in."),
    403: ("Forbidden", "Your account is not allowed to see this page."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Method not allowed", "This page does not accept that kind of request."),
    413: ("Request too large", "What was sent is larger than this site accepts."),
    429: ("Too many attempts", "Please wait a minute before trying again."),
    500: ("Something went wrong", "We have logged the problem. Please try again in a moment."),
    503: ("Briefly unavailable", "The service cannot reach its database just now. Please try again shortly."),
}


_ANSWERS = "portal.error_answers"


def answer_errors_of(app, owns, answer):
    """Have `answer(error)` answer every error of the requests whose path `owns(path)` (a door with a format of its
    own: the API registers its envelope). Everything else is answered with a page."""
    app.extensions.setdefault(_ANSWERS, []).append((owns, answer))


def seconds_until_reset():
    """How long until the rate limit this request broke lets it through again (for Retry-After)."""
    current = limiter.current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current else 60


def own_answer():
    """Return the answer a door registered for this request's path, or None (errors here are pages)."""
    for owns, answer in current_app.extensions.get(_ANSWERS, ()):
        if owns(request.path):
            return answer
    return None


def init_app(app):
    """Register the handlers for every HTTP error and for unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        unit_of_work.fail()
        return _page(400, "The form has expired or was not sent from this site. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error):
        answer = own_answer()
        if answer is not None:
            return answer(error)
        unit_of_work.fail()
        return _page(error.code or 500)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error):
        answer = own_answer()
        if answer is not None:
            return answer(error)
        unit_of_work.fail()
        # Say when, in the header (for clients) and on the page (for people), as the API does.
        seconds = seconds_until_reset()
        unit = "second" if seconds == 1 else "seconds"
        page, status = _page(error.code, f"Please try again in {seconds} {unit}.")
        return page, status, {"Retry-After": str(seconds)}

    @app.errorhandler(Exception)
    def unexpected(error):
        answer = own_answer()
        if answer is not None:
            return answer(error)
        unit_of_work.fail()
        if is_unavailable(error):
            log.error("database unavailable on %s", loggable_path(request.path), exc_info=error)
            # The page must render without the database: treat the visitor as anonymous (Flask-Login's
            # per-request user), so the layout does not try to load the user again.
            g._login_user = login_manager.anonymous_user()
            page, status = _page(ServiceUnavailable.code)
            return page, status, {"Retry-After": "1"}
        log.error("unhandled error on %s", loggable_path(request.path), exc_info=error)
        return _page(InternalServerError.code)


def _page(status, detail=None):
    title, message = TITLES.get(status, (f"Error {status}", "The request could not be completed."))
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status
