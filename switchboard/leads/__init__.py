"""Lead and do-not-call files into the store: opening them (CSV, XLSX) and running an import end to end.

The shell around dialer.leads: files and the database here, every decision there.
"""
