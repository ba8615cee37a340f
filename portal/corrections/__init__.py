"""Corrections as data: a request (kind, target, parameters, reason, customer note, maker) and the kinds it names.

Doors build a CorrectionRequest, show `describe(request)` and call `apply(request, actor)`; they commit, the
domain never does. `from portal import corrections; corrections.apply(request, actor)`. A kind named in
FOUR_EYES is stored instead (`corrections.approvals.request`) and applied when a second member of staff approves.
"""
from portal.corrections import approvals, kinds
from portal.corrections.kinds import ADMINS, OPERATORS
from portal.corrections.registry import (
    KINDS,
    NEUTRAL_NOTE,
    Kind,
    NotPermitted,
    apply,
    describe,
    for_customer,
    kind_of,
    rehearse,
    summary,
)
from portal.corrections.request import CorrectionRequest

__all__ = ["ADMINS", "KINDS", "NEUTRAL_NOTE", "OPERATORS", "CorrectionRequest", "Kind", "NotPermitted", "apply",
           "approvals", "describe", "for_customer", "kind_of", "kinds", "rehearse", "summary"]
