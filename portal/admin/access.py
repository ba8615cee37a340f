"""Who may reach the back-office: staff only; which role may ask for which correction is the registry's rule."""
import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user


def is_staff():
    """Whether the current user is a logged-in member of staff."""
    return current_user.is_authenticated and current_user.is_staff


def can(*roles):
    """Whether the current user has one of `roles` (for showing controls; the endpoints check again)."""
    return current_user.is_authenticated and current_user.has_role(*roles)


def refuse():
    """Anonymous visitors go to the login page; everyone else who lacks the role gets 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return abort(403)


def requires(*roles):
    """Decorate an exposed back-office endpoint: only these roles, whatever the page showed."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not can(*roles):
                return refuse()
            return view(*args, **kwargs)
        return wrapper
    return decorator


class StaffOnly:
    """Mixin for every back-office view: staff only, on every endpoint the view exposes."""

    def is_accessible(self):
        """Whether the current user may see this view at all (staff only)."""
        return is_staff()

    def inaccessible_callback(self, name, **kwargs):
        """Answer a visitor who may not see this view: login for the anonymous, 403 for everyone else."""
        return refuse()
