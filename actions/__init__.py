"""Acting in Okta on a Slack member's behalf, shared by commands and approvals: who the caller is
(identity and roles), the operations and whether they took effect, Okta's errors explained, how
users are named in messages, and the invocation being answered."""
