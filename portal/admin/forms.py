"""Correction forms. Each has a reason where money or access is involved, and is confirmed before it acts."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.models import ClientType, Role, Scope
from portal.money import CURRENCIES


class ConfirmableForm(FlaskForm):
    """Submitted twice: first to review what will happen, then with `confirmed` set to do it."""

    confirmed = HiddenField(default="")

    @property
    def is_confirmed(self):
        """Whether this is the confirming submission (the review step was shown)."""
        return self.confirmed.data == "yes"


class ReasonForm(ConfirmableForm):
    """A correction that takes a reason, and a note the customer is told: reverse, freeze, unfreeze, close, revoke."""

    reason = TextAreaField("Reason (internal)", validators=[DataRequired(), Length(max=1000)],
                           description="Why: recorded in the audit log for staff and auditors. "
                                       "The customer never sees it.")
    customer_note = TextAreaField("Note for the customer", validators=[Optional(), Length(max=500)],
                                  description="Optional: what the customer reads on their pages. Without one "
                                              "they read “Correction by the bank”.")
    submit = SubmitField("Review")


class AdjustmentForm(ReasonForm):
    """A signed amount posted against the corrections account, on a value date."""

    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)],
                         description="Signed: positive credits the customer, negative debits them. E.g. -12.50")
    value_date = DateField("Value date", validators=[Optional()], description="Defaults to today.")


class RenameAccountForm(ConfirmableForm):
    """An account's new name; the reason is optional."""

    name = StringField("New name", validators=[DataRequired(), Length(max=120)])
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Review")


class OpenAccountForm(ConfirmableForm):
    """A new account for a customer: its name, currency and opening date."""

    name = StringField("Account name", validators=[DataRequired(), Length(max=120)])
    currency = SelectField("Currency", choices=[SelectChoice(c) for c in sorted(CURRENCIES)], default="EUR")
    opened_on = DateField("Opened on", validators=[Optional()], description="Defaults to today.")
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Review")


class EditUserForm(ConfirmableForm):
    """A user's name, email and active flag."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    active = BooleanField("Active (may log in; their API tokens work)")
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)],
                           description="Required: this changes who can reach the customer's money.")
    submit = SubmitField("Review")


class ChangeRoleForm(ConfirmableForm):
    """A member of staff's new staff role."""

    role = SelectField("Role", choices=[SelectChoice(r.value) for r in Role if r.is_staff])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField("Review")


class CreateStaffForm(ConfirmableForm):
    """A new member of staff (the initial password is made, not asked for)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=[SelectChoice(r.value) for r in Role if r.is_staff])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField("Review")


class EditAppForm(ConfirmableForm):
    """A registered app's name, homepage, redirect URIs, scopes and IP allowlist."""

    name = StringField("Name", validators=[DataRequired(), Length(max=80)],
                       description="Shown to customers on the consent page and on Connected apps.")
    homepage = StringField("Homepage", validators=[DataRequired(), Length(max=255)],
                           description="https (http only for 127.0.0.1 or localhost).")
    redirect_uris = TextAreaField("Redirect URIs", validators=[DataRequired(), Length(max=4000)],
                                  description="One per line, compared exactly.")
    scopes = SelectMultipleField("Scopes it may hold", choices=[SelectChoice(s.value) for s in Scope],
                                 validators=[DataRequired(message="Choose at least one.")],
                                 description="Its level of access. deposits:write only for the bank's own rails.")
    ip_allowlist = TextAreaField("IP allowlist", validators=[Optional(), Length(max=4000)],
                                 description="CIDRs, one per line; API calls with its tokens must come from one. "
                                             "Empty: anywhere.")
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField("Review")


class RegisterAppForm(EditAppForm):
    """A new app: its fields and whether it can keep a client secret."""

    client_type = SelectField("Type", choices=[SelectChoice(t.value) for t in ClientType],
                              default=ClientType.CONFIDENTIAL.value,
                              description="confidential: a server that keeps a client secret (shown once); "
                                          "public: a phone or browser app (PKCE only).")
