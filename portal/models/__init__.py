"""The models, importable from one place (the migrations' metadata needs every one of them)."""
from portal.models.accounts import Account, AccountKind, AccountStatus, SystemCode
from portal.models.approvals import REQUEST_STATUSES, RequestedCorrection
from portal.models.apps import (
    AppStatus,
    AuthorizationCode,
    ClientType,
    Consent,
    ConsentStatus,
    OAuthToken,
    ThirdPartyApp,
    consent_accounts,
)
from portal.models.audit import AuditChainHead, AuditEvent
from portal.models.base import Base
from portal.models.idempotency import IdempotencyKey
from portal.models.ledger import DailyBalance, Entry, Transaction, TransactionKind
from portal.models.password_resets import PasswordReset
from portal.models.tokens import CUSTOMER_SCOPES, ApiToken, Scope, api_token_accounts
from portal.models.users import Role, User

__all__ = [
    "CUSTOMER_SCOPES", "Account", "AccountKind", "AccountStatus", "ApiToken", "AppStatus", "AuditChainHead",
    "AuditEvent", "AuthorizationCode", "Base", "ClientType", "Consent", "ConsentStatus", "DailyBalance", "Entry",
    "IdempotencyKey", "OAuthToken", "PasswordReset", "REQUEST_STATUSES", "RequestedCorrection", "Role", "Scope",
    "SystemCode", "ThirdPartyApp", "Transaction", "TransactionKind",
    "User", "api_token_accounts", "consent_accounts",
]
