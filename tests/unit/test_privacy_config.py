"""[retention] and asterisk_logs in the site file: validated, unset by default (nothing expires unasked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchboard.config import parse_site
from switchboard.errors import ConfigError

AMI = {"ami": {"secret": "runtime-secret-0001", "admin_secret": "admin-secret-0001"}}


def test_retention_is_unset_by_default() -> None:
    site = parse_site(AMI)
    assert (site.retention.leads_days, site.retention.recordings_days, site.retention.calls_days) == (None, None, None)
    assert site.asterisk_logs_path is None


def test_periods_and_the_asterisk_log_folder_are_read(tmp_path: Path) -> None:
    raw: dict[str, Any] = {**AMI, "asterisk_logs": "ast/log", "retention": {"leads_days": 365, "recordings_days": 90}}
    site = parse_site(raw, tmp_path / "site.toml")
    assert (site.retention.leads_days, site.retention.recordings_days, site.retention.calls_days) == (365, 90, None)
    assert site.asterisk_logs_path == (tmp_path / "ast" / "log").resolve()


@pytest.mark.parametrize(
    ("retention", "field"),
    [({"leads_days": 0}, "retention.leads_days"), ({"calls_days": -1}, "retention.calls_days"),
     ({"recordings_days": "a year"}, "retention.recordings_days"), ({"forever": 1}, "retention.forever")],
)  # fmt: skip
def test_a_bad_period_is_refused_naming_the_field(retention: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_site({**AMI, "retention": retention}, Path("site.toml"))
    assert error.value.field == field
    assert field in str(error.value)
