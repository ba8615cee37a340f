"""Free text (names, descriptions, reasons) follows one rule whatever the door: no control characters, no
text-direction overrides, no lone surrogates. Each refusal names the field and changes nothing."""
import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.models import AuditEvent
from tests.factories import SYSTEM, make_account, make_user, snapshot

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
BAD_LINES = [f"Salary {RLO}gnp.exe", "\x1b[2J cleared", "two\nlines", "tab\tbed", "\u2067isolated\u2069",
             "lone \ud800 surrogate", "nul\x00byte", "c1\x9bcontrol"]
BAD_TEXTS = [f"reason {RLO}", "\x1b]0;title\x07", "lone \udfff", "nul\x00"]


def refused(field, operation):
    before = snapshot()
    with pytest.raises(ledger.ValidationError) as refusal:
        operation()
    db.session.rollback()
    assert refusal.value.field == field, refusal.value
    assert snapshot() == before


@pytest.mark.parametrize("text", BAD_LINES)
def test_one_line_fields_refuse_control_bidi_and_surrogate_characters_in_every_domain_function(app, text):
    owner = make_user()
    account = make_account(owner, balance=10_00)
    refused("description", lambda: ledger.withdraw(account, 1_00, actor=SYSTEM, description=text))
    refused("description", lambda: ledger.adjust(account, 1_00, actor=SYSTEM, reason="ok", description=text))
    refused("name", lambda: ledger.open_account(owner, text, actor=SYSTEM))
    refused("name", lambda: ledger.rename_account(account, text, actor=SYSTEM))
    refused("name", lambda: identity.create_user("new@example.com", text, role="customer", password="x" * 12,
                                                 actor=SYSTEM))
    refused("email", lambda: identity.create_user(f"new{text}@example.com", "New", role="customer",
                                                  password="x" * 12, actor=SYSTEM))
    refused("name", lambda: identity.update_user(owner, actor=SYSTEM, reason="ok", name=text))
    refused("email", lambda: identity.update_user(owner, actor=SYSTEM, reason="ok",
                                                  email=f"a{text}@example.com"))
    refused("name", lambda: identity.issue_token(owner, name=text, scopes=["accounts:read"], accounts=[account],
                                                 actor=SYSTEM))


@pytest.mark.parametrize("text", BAD_TEXTS)
def test_reasons_refuse_control_bidi_and_surrogate_characters(app, text):
    account = make_account(balance=10_00)
    refused("reason", lambda: ledger.freeze(account, actor=SYSTEM, reason=text))
    refused("reason", lambda: ledger.adjust(account, 1_00, actor=SYSTEM, reason=text))


def test_a_reason_may_span_lines_and_a_textarea_s_line_ends_are_kept_as_newlines(app):
    account = make_account(balance=10_00)
    ledger.freeze(account, actor=SYSTEM, reason="Fraud report 4711.\r\nCalled the customer:\tno answer.")
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.freeze"))
    assert event.reason == "Fraud report 4711.\nCalled the customer:\tno answer."
