"""Login, logout and password forms."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.identity.password_rules import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    """The login form: email, password, and the local page to go to afterwards."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """Logout is a POST with a CSRF token, so no other site can log a user out."""

    submit = SubmitField("Log out")


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (the reset link's form)."""

    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                 description=f"At least {MIN_LENGTH} characters; not a common or leaked password, "
                                             "nor your email or name. A few unrelated words work well.",
                                 render_kw={"autocomplete": "new-password", "minlength": MIN_LENGTH})
    repeat = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set the new password")


class ChangePasswordForm(NewPasswordForm):
    """The logged-in user's own change: the current password, then the new one twice."""

    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                     render_kw={"autocomplete": "current-password", "autofocus": True})
    submit = SubmitField("Change password")
