"""`/login` and `POST /logout`."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal import audit, identity, unit_of_work
from portal.audit import Refusal
from portal.auth.forms import LoginForm, LogoutForm
from portal.auth.redirects import local_target
from portal.extensions import limiter
from portal.observability import client_ip, request_actor

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "Wrong email or password."


def login_rate_limit():
    """Return the login attempt limit, read from the running app's configuration (LOGIN_RATE_LIMIT)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_rate_key():
    """Per client address and email: one attacker cannot lock everyone out, nor guess one account fast."""
    email = identity.normalize_email(request.form.get("email", ""))[:254]
    return f"login:{client_ip()}:{email}"


def home_for(user):
    """Return the page `user` lands on: the admin index for staff, the customer pages for customers."""
    return url_for("admin.index") if user.is_staff else url_for("web.index")


def safe_next(target, user):
    """Only a page of this app may follow login: no other host, no protocol-relative or backslash tricks."""
    return local_target(target) or home_for(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, key_func=login_rate_key, methods=["POST"])
def login():
    """Show the login form; check the credentials and start a fresh session."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = identity.find_user_by_email(form.email.data)
        # verify_password spends the same time with no user, so timing does not tell whether the email exists.
        password_ok = identity.verify_password(user.password_hash if user else None, form.password.data)
        if user is None or not password_ok or not user.active:
            why = "unknown_email" if user is None else ("wrong_password" if not password_ok else "user_deactivated")
            unit_of_work.refuse(request_actor(), "auth.login_failed", Refusal(why, why.replace("_", " ")),
                                object_type="user", object_id=user.id if user else None,
                                subject_user_id=user.id if user else None,
                                changes={"email": [None, identity.normalize_email(form.email.data)]})
            flash(GENERIC_FAILURE, "error")
            return render_template("auth/login.html", form=form)
        # A new session at login: whatever an attacker may have planted in the old one is gone.
        session.clear()
        login_user(user)
        audit.record(request_actor(user=user), "auth.login", object_type="user", object_id=user.id,
                     subject_user_id=user.id)
        return redirect(safe_next(form.next.data, user))
    if request.method == "POST":
        flash("Please fill in both fields.", "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End the session (POST only, with a CSRF token)."""
    form = LogoutForm()
    if current_user.is_authenticated and form.validate_on_submit():
        audit.record(request_actor(user=current_user), "auth.logout", object_type="user", object_id=current_user.id,
                     subject_user_id=current_user.id)
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
