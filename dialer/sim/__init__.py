"""The dialer simulator: a discrete-event day of outbound calls, paced by the production code or by a peer's rules.

scenario (the JSON, checked), fates (leads and churn drawn per seed), engine (the event loop), policies, simulate.
"""
