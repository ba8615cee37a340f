"""`/login`, `POST /logout`, `/password` and `/password/reset/<secret>`."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import audit, identity, unit_of_work
from portal.audit import Refusal
from portal.auth import sessions
from portal.auth.forms import ChangePasswordForm, LoginForm, LogoutForm, NewPasswordForm
from portal.auth.redirects import local_target
from portal.extensions import limiter
from portal.identity.credentials import PASSWORD_CHANGE_ACTION
from portal.kernel import errors
from portal.models import Role
from portal.observability import client_ip, request_actor

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "Wrong email or password."
# What a user who must change their password may still reach: the page to change it, and the way out.
_WHILE_PASSWORD_MUST_CHANGE = frozenset({"auth.password", "auth.logout", "auth.login", "static"})


def login_rate_limit():
    """Return the login attempt limit, read from the running app's configuration (LOGIN_RATE_LIMIT)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_rate_key():
    """Per client address and email: one attacker cannot lock everyone out, nor guess one account fast."""
    email = identity.normalize_email(request.form.get("email", ""))[:254]
    return f"login:{client_ip()}:{email}"


def password_rate_key():
    """Per logged-in user: someone at an unlocked screen cannot guess the current password fast."""
    return f"password:{current_user.get_id()}"


def home_for(user):
    """Return the page `user` lands on: the admin index for staff, the customer pages for customers."""
    return url_for("admin.index") if user.is_staff else url_for("web.index")


def safe_next(target, user):
    """Only a page of this app may follow login: no other host, no protocol-relative or backslash tricks."""
    return local_target(target) or home_for(user)


@bp.before_app_request
def require_password_change():
    """Send a user whose password was chosen for them to /password before any other page."""
    endpoint = request.endpoint or ""
    if endpoint in _WHILE_PASSWORD_MUST_CHANGE or endpoint.endswith(".static"):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.password"))
    return None


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
        sessions.start(user)  # a new session: whatever an attacker may have planted in the old one is gone
        audit.record(request_actor(user=user), "auth.login", object_type="user", object_id=user.id,
                     subject_user_id=user.id)
        if user.must_change_password:
            return redirect(url_for("auth.password"))
        return redirect(safe_next(form.next.data, user))
    if request.method == "POST":
        flash("Please fill in both fields.", "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End the session, and every other session of the user (POST only, with a CSRF token)."""
    form = LogoutForm()
    if current_user.is_authenticated and form.validate_on_submit():
        identity.log_out(current_user._get_current_object(), actor=request_actor(user=current_user))
        sessions.end()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(login_rate_limit, key_func=password_rate_key, methods=["POST"])
def password():
    """Change one's own password: the current one, then the new one twice. Other sessions end; this one goes on."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        actor = request_actor(user=user)
        try:
            identity.change_password(user, form.current_password.data, form.new_password.data, actor=actor)
        except errors.ValidationError as exc:
            _refuse_password(actor, user, exc, form)
            return render_template("auth/password.html", form=form, forced=user.must_change_password)
        sessions.adopt(user)
        flash("Your password is changed. Any other session of yours has ended.", "success")
        return redirect(home_for(user))
    return render_template("auth/password.html", form=form, forced=user.must_change_password)


@bp.route("/password/reset/<secret>", methods=["GET", "POST"])
def reset_password(secret):
    """Set a new password with a reset link from the bank: once, within 30 minutes; every session ends."""
    reset = identity.usable_reset(secret)
    if reset is None:
        return render_template("auth/reset_unusable.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        actor = request_actor(user=reset.user)
        user = reset.user
        try:
            identity.reset_password(secret, form.new_password.data, actor=actor)
        except errors.ValidationError as exc:
            _refuse_password(actor, user, exc, form)
            if exc.field == "link":
                return render_template("auth/reset_unusable.html"), 404
            return render_template("auth/reset_password.html", form=form, email=user.email)
        flash("Your password is set. Please log in with it.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, email=reset.user.email)


def _refuse_password(actor, user, exc, form):
    """Record a refused password change (never the password) and show why on the form's field."""
    subject = user.id if user.role == Role.CUSTOMER.value else None
    user_id = user.id  # read before the rollback expires it
    outcome = "denied" if exc.field == "current_password" else "failed"
    unit_of_work.refuse(actor, PASSWORD_CHANGE_ACTION, exc, outcome=outcome, object_type="user", object_id=user_id,
                        subject_user_id=subject)
    if exc.field in form:
        form[exc.field].errors.append(exc.message)
    else:
        flash(exc.message, "error")
