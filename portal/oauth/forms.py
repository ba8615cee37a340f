"""The consent form: which accounts, for how long, Allow or Deny."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SubmitField

from portal.identity import consents
from portal.models import Scope
from portal.web.forms import CheckboxesField

# What each scope lets an app do, in the words the consent page uses.
SCOPE_WORDS = {
    Scope.ACCOUNTS_READ.value: "See the accounts you choose below and their balances.",
    Scope.TRANSACTIONS_READ.value: "See the transactions and statements of those accounts.",
    Scope.TRANSACTIONS_WRITE.value: "Take money out of those accounts: payments, withdrawals and transfers.",
    Scope.DEPOSITS_WRITE.value: "Bring money in from outside the bank (the bank's own systems only).",
}
EXPIRY_CHOICES = [SelectChoice(str(days), label) for days, label in [
    (7, "7 days"), (30, "30 days"), (consents.DEFAULT_DAYS, "90 days"), (consents.MAX_DAYS, "180 days")]]


class ConsentForm(FlaskForm):
    """Allow or deny an app: the accounts it may reach and when the consent ends (CSRF-protected)."""

    # The domain, not the form, decides whether an account is the customer's: a forged one is refused and audited.
    accounts = CheckboxesField("Which accounts", choices=[], validate_choice=False)
    days = SelectField("For how long", choices=EXPIRY_CHOICES, default=str(consents.DEFAULT_DAYS),
                       validate_choice=False)
    allow = SubmitField("Allow")
    deny = SubmitField("Deny")
