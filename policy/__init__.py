"""The policy file: roles, who may run which verb, approvals, protected targets, alert routing,
self-service. Pure rules; loading the file is the only I/O. See docs/policy.md."""

from policy.decision import ApprovalRule, Caller, Decision
from policy.loader import PolicyError, load_policy, parse_policy
from policy.policy import Policy
from policy.sections import SelfServiceRule
from policy.verbs import Verb

__all__ = [
    "ApprovalRule",
    "Caller",
    "Decision",
    "Policy",
    "PolicyError",
    "SelfServiceRule",
    "Verb",
    "load_policy",
    "parse_policy",
]
