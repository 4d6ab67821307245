"""Test-wide settings: under CI, Hypothesis runs a fixed (derandomized) set of examples with no deadline.

Developers' runs stay random and keep finding new cases; CI's verdict does not depend on the draw or the load.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
