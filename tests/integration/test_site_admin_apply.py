"""The admin's apply against the real lab: an operator added through SiteAdmin.apply gets a PJSIP endpoint in the
running Asterisk (res_pjsip reloaded over AMI by the admin user), registers a pjsua2 softphone, and the running
platform takes it into its picture over the command bus (`site.reload`) without a restart."""

from __future__ import annotations

import time

from switchboard import site_admin
from switchboard.lab.stack import LabStack
from switchboard.picture import FREE_STATES
from switchboard.site_apply import SiteAdmin
from switchboard.store.calls import make_engine

NEW = {"sip_user": "op2001", "name": "Dana Scully", "secret": "a-long-secret-2001", "skills": {"general": 3}}


async def test_an_operator_added_and_applied_registers_a_softphone(lab: LabStack) -> None:
    """No endpoint before; after apply: pjsip.conf rewritten, res_pjsip.so reloaded, the phone registers, the
    platform has the operator, logs them in and sees their phone free."""
    assert lab.site and lab.asterisk and lab.phones and lab.platform
    assert "Unable to find object op2001" in await lab.asterisk.cli("pjsip show endpoint op2001")
    engine = make_engine(lab.site.store_url_effective)
    admin = SiteAdmin(lab.site, engine, clock=time.time)
    assert admin.conf_dir == lab.asterisk.conf_dir.resolve()

    version = admin.edit("ada", "operator.add", "operator op2001", lambda t: site_admin.add_operator(t, NEW), None)
    site, report = await admin.apply(version.id, "ada")

    assert report.asterisk_errors == []
    assert "pjsip.conf" in report.files_written
    assert report.reloaded[0] == "res_pjsip.so"
    assert report.platform == "reloaded", report.platform
    assert report.platform_report["added"] == ["op2001"]
    assert "op2001" in await lab.asterisk.cli("pjsip show endpoint op2001")
    await lab.phones.register("op2001", NEW["secret"], f"127.0.0.1:{site.asterisk.sip_port}", display="Dana Scully")
    assert lab.platform.site.operator("op2001").skills == {"general": 3}
    lab.platform.operator_command("op2001", "login", "", lab.platform.clock())
    await lab.wait_for(lambda: lab.platform_op_state("op2001") in FREE_STATES, 15, "op2001's phone free")
    await lab.phones.unregister("op2001")
    engine.dispose()
