"""Lead lists as the dialer sees them: reading purchased files, mapping their columns, normalising numbers.

Pure code: the shell opens files and talks to the store; everything here takes values and returns values.
"""
