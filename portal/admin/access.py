"""Who may do what in the back-office: viewer reads, operator also corrects, admin also manages staff."""
import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user

from portal.models import Role

OPERATORS = (Role.OPERATOR, Role.ADMIN)
ADMINS = (Role.ADMIN,)


def is_staff():
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
        return is_staff()

    def inaccessible_callback(self, name, **kwargs):
        return refuse()
