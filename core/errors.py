"""Errors a user can read: each says what was refused and why, and nothing was written."""

from __future__ import annotations


class HeraldError(Exception):
    """Base of every refusal core/ raises; its message is meant for the person who acted."""


class NotFound(HeraldError):
    pass


class PermissionDenied(HeraldError):
    pass


class Unauthenticated(HeraldError):
    """A request that does not say who it is (no, unknown or revoked API key)."""


class Conflict(HeraldError):
    """The request is fine but the state of what it names refuses it now (e.g. a campaign that is
    not Live, or the same Idempotency-Key still being processed)."""


class IllegalTransition(HeraldError):
    pass


class StaleRevision(HeraldError):
    pass


class InvalidInput(HeraldError):
    """Input that breaks a rule; `problems` maps a field path to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {why}" for field, why in self.problems.items()))


class NotReady(HeraldError):
    """A campaign that cannot go for approval or activation yet: every blocking problem listed."""

    def __init__(self, action: str, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        listed = "; ".join(f"{field}: {why}" for field, why in self.problems.items())
        super().__init__(f"Cannot {action} yet: {listed}")
