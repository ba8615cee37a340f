"""The models, importable from one place (the migrations' metadata needs every one of them)."""
from portal.models.accounts import Account, AccountKind, AccountStatus, SystemCode
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.idempotency import IdempotencyKey
from portal.models.ledger import DailyBalance, Entry, Transaction, TransactionKind
from portal.models.password_resets import PasswordReset
from portal.models.tokens import ApiToken, Scope, api_token_accounts
from portal.models.users import Role, User

__all__ = [
    "Account", "AccountKind", "AccountStatus", "ApiToken", "AuditEvent", "Base", "DailyBalance", "Entry",
    "IdempotencyKey", "PasswordReset", "Role",
    "Scope", "SystemCode", "Transaction", "TransactionKind", "User", "api_token_accounts",
]
