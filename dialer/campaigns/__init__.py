"""Outbound campaigns as the dialer sees them: settings, calling hours, retry rules, dispositions, scripts and forms.

Pure code over frozen values, with time passed in; the shell (switchboard/store/campaigns*) reads and writes SQL.
"""
