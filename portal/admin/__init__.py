"""The operations back-office at /admin/ (a placeholder until the Flask-Admin back-office lands)."""
import functools

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def staff_required(view):
    """Logged in as staff; customers get 403."""
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.get("/")
@staff_required
def index():
    """The back-office home."""
    return render_template("admin/placeholder.html")
