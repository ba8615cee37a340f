"""Forms of the customer pages."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.validators import DataRequired, Length, Optional

from portal.display import SCOPE_LABELS
from portal.models import CUSTOMER_SCOPES

EXPIRY_CHOICES = [SelectChoice(value, label) for value, label in [
    ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year"), ("", "Never")]]
DEFAULT_EXPIRY = "90"  # a token nobody remembers stops working by itself


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# Short enough to read whole in the select on a 390 px phone; the field's description says the rest.
OWN_USE = SelectChoice("", "My own use (no app)")


class TokenForm(FlaskForm):
    """The form a customer issues an API token with: who it is for, its name, scopes, accounts and expiry."""

    app = SelectField("For", choices=[OWN_USE], default="",
                      description="My own use: your own scripts. An app from the bank's list can hold only what "
                                  "the bank allows it.")
    name = StringField("Name", validators=[DataRequired(), Length(max=80)],
                       description="Who will use it, e.g. “Budget app”.")
    scopes = CheckboxesField("What it may do", choices=[SelectChoice(v, SCOPE_LABELS[v]) for v in CUSTOMER_SCOPES],
                             validators=[DataRequired(message="Choose at least one.")])
    accounts = CheckboxesField("Which accounts", choices=[], validators=[DataRequired(message="Choose at least one.")])
    expires_in = SelectField("Expires", choices=EXPIRY_CHOICES, default=DEFAULT_EXPIRY)
    submit = SubmitField("Create token")


class RevokeTokenForm(FlaskForm):
    """The button that revokes an API token (a POST with a CSRF token)."""

    submit = SubmitField("Revoke token")


class BalanceAtDateForm(FlaskForm):
    """A GET form (no state changes, so no CSRF token)."""

    class Meta:
        """Turn CSRF off for this form: a GET changes nothing."""

        csrf = False

    date = DateField("Balance at the end of", validators=[Optional()])
    submit = SubmitField("Show")
