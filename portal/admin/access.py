"""Who may reach the back-office: staff only; which role may ask for which correction is the registry's rule.

Every refusal by role goes through `refuse`, the one place that answers it (403, or the login page for the
anonymous) and audits it as `denied`.
"""
import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user

from portal import unit_of_work
from portal.audit import Refusal
from portal.observability import request_actor

# The audit action of a refusal that is not a correction: opening a back-office page without the role.
ACCESS_ACTION = "admin.access"


def is_staff():
    """Whether the current user is a logged-in member of staff."""
    return current_user.is_authenticated and current_user.is_staff


def can(*roles):
    """Whether the current user has one of `roles` (for showing controls; the endpoints check again)."""
    return current_user.is_authenticated and current_user.has_role(*roles)


def refuse(action=ACCESS_ACTION):
    """Anonymous visitors go to the login page; everyone else who lacks the role gets 403, audited as denied.

    `action` names what was asked: a correction's kind, or opening a page (`admin.access`).
    """
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    user = current_user._get_current_object()
    unit_of_work.refuse(request_actor(user=user), action,
                        Refusal("forbidden", f"the role {user.role} may not do this ({request.method})"),
                        object_type="request", object_id=request.path[:64])
    return abort(403)


def requires(*roles, action=ACCESS_ACTION):
    """Decorate an exposed back-office endpoint: only these roles, whatever the page showed.

    `action` is what a refusal is audited as: a name, or a function of the endpoint's URL arguments.
    """
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not can(*roles):
                return refuse(action(**kwargs) if callable(action) else action)
            return view(*args, **kwargs)
        return wrapper
    return decorator


class StaffOnly:
    """Mixin for every back-office view: staff only, on every endpoint the view exposes."""

    def is_accessible(self):
        """Whether the current user may see this view at all (staff only)."""
        return is_staff()

    def inaccessible_callback(self, name, **kwargs):
        """Answer a visitor who may not see this view: login for the anonymous, 403 (audited) for everyone else."""
        return refuse()
