"""What the domain packages share and none of them owns: the clock, the refusal types and the free-text rule.

identity, ledger and audit import from here; the kernel imports none of them (only portal.text), so it is
never the middle of an import cycle.
"""
