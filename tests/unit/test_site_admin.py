"""The admin's site edits: each gives valid TOML the Site model accepts, keeps the file's comments and other
sections, and refusals name the field and the value (a skill still used names who uses it)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from switchboard import site_admin
from switchboard.config import Site
from switchboard.errors import ConfigError
from switchboard.site_admin import UnknownEntryError

GOLDEN = (Path(__file__).with_name("golden") / "site.toml").read_text(encoding="utf-8")
NEW_OPERATOR = {
    "sip_user": "op2001",
    "name": "Dana Scully",
    "secret": "a-long-secret-2001",
    "skills": {"tax": 4, "english": 2},
    "extension": "2001",
}


def test_adding_an_operator_gives_valid_toml_with_the_rest_kept() -> None:
    """The new [[operators]] table is at the end; the first comment and every other section are unchanged."""
    edited = site_admin.add_operator(GOLDEN, NEW_OPERATOR)
    assert edited.text.startswith(GOLDEN.splitlines()[0])  # the file's leading comment stays
    assert edited.text.startswith(GOLDEN.rstrip("\n"))  # nothing before the new table moved
    raw = tomllib.loads(edited.text)
    assert raw["operators"][-1] == NEW_OPERATOR
    assert edited.site.operator("op2001").skills == {"tax": 4, "english": 2}
    assert isinstance(edited.site, Site)
    assert "op2001" in edited.summary


def test_levels_sent_as_text_are_written_as_numbers() -> None:
    """A form's '3' becomes the integer 3 in the file, as the Site model reads it."""
    edited = site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"skills": {"tax": "3"}})
    assert tomllib.loads(edited.text)["operators"][-1]["skills"] == {"tax": 3}


def test_a_level_of_7_is_refused_naming_operators_n_skills_x() -> None:
    """Skill levels are 1-5: the refusal names operators.2.skills.tax and the value."""
    with pytest.raises(ConfigError) as refused:
        site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"skills": {"tax": 7}})
    assert refused.value.field == "operators.2.skills.tax"
    assert "operators.2.skills.tax = 7" in str(refused.value)


def test_an_unknown_skill_and_a_short_secret_are_refused_by_field() -> None:
    """The Site model's own checks apply: undeclared skill, secret under 12 characters, unknown field."""
    with pytest.raises(ConfigError, match=r"operators\.2\.skills = 'french': unknown skill"):
        site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"skills": {"french": 3}})
    with pytest.raises(ConfigError, match=r"operators\.2\.secret = 'short'"):
        site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"secret": "short"})
    with pytest.raises(ConfigError, match=r"operators\.2\.colour"):
        site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"colour": "blue"})


def test_a_second_operator_with_the_same_sip_user_is_refused() -> None:
    """sip_user is the operator's key."""
    with pytest.raises(ConfigError, match=r"operators\.0\.sip_user = 'op1001': an operator with this sip_user"):
        site_admin.add_operator(GOLDEN, NEW_OPERATOR | {"sip_user": "op1001"})


def test_editing_an_operator_changes_only_what_is_given() -> None:
    """New levels replace the old; null removes the extension; no secret keeps the old one."""
    edited = site_admin.edit_operator(GOLDEN, "op1001", {"skills": {"tax": 3}, "extension": None, "secret": ""})
    op = edited.site.operator("op1001")
    assert op.skills == {"tax": 3}
    assert op.extension is None
    assert op.secret == "operator-secret-1001"
    assert op.name == "Anna Petrova"


def test_an_operator_cannot_be_renamed_nor_edited_when_unknown() -> None:
    """A rename is refused naming the field; an unknown sip_user is an UnknownEntryError."""
    with pytest.raises(ConfigError, match=r"operators\.0\.sip_user = 'op9': cannot be renamed"):
        site_admin.edit_operator(GOLDEN, "op1001", {"sip_user": "op9"})
    with pytest.raises(UnknownEntryError, match="no such operator"):
        site_admin.edit_operator(GOLDEN, "op9999", {"name": "Nobody"})


def test_removing_an_operator_leaves_the_others() -> None:
    """The table goes; the other operator stays."""
    edited = site_admin.remove_operator(GOLDEN, "op1001")
    assert [op.sip_user for op in edited.site.operators] == ["op1002"]


def test_removing_a_skill_still_used_is_refused_naming_the_operator() -> None:
    """'english' is held by op1002 (Boris Ivanov): the refusal names him; 'tax' also names its queue."""
    with pytest.raises(ConfigError) as refused:
        site_admin.remove_skill(GOLDEN, "english")
    assert "skills.2 = 'english'" in str(refused.value)
    assert "op1002 (Boris Ivanov)" in str(refused.value)
    with pytest.raises(ConfigError, match=r"op1001 \(Anna Petrova\); queues tax"):
        site_admin.remove_skill(GOLDEN, "tax")


def test_a_skill_nobody_uses_is_added_then_removed() -> None:
    """Add 'french', then remove it: the skills list is back as it was."""
    added = site_admin.add_skill(GOLDEN, "french")
    assert added.site.skills == ["tax", "accounting", "english", "french"]
    removed = site_admin.remove_skill(added.text, "french")
    assert removed.site.skills == ["tax", "accounting", "english"]


def test_bad_or_duplicate_skill_names_are_refused() -> None:
    """A skill name is a safe name; a second 'tax' is refused."""
    with pytest.raises(ConfigError, match=r"skills = 'two words'"):
        site_admin.add_skill(GOLDEN, "two words")
    with pytest.raises(ConfigError, match=r"skills\.0 = 'tax': this skill exists already"):
        site_admin.add_skill(GOLDEN, "tax")
    with pytest.raises(UnknownEntryError):
        site_admin.remove_skill(GOLDEN, "french")


def test_a_queue_with_levels_widening_steps_and_max_wait_is_added() -> None:
    """Required skills, steps, service-level target, max wait and what happens then, all in the file."""
    fields = {
        "name": "vip",
        "requires": {"english": 3},
        "steps": [{"after_s": 0, "min_level": 5}, {"after_s": 30.0, "min_level": 3}],
        "sl_seconds": 15,
        "sl_target": 0.9,
        "max_wait_s": 120,
        "on_max_wait": "overflow",
        "overflow_to": "accounting",
    }
    edited = site_admin.add_queue(GOLDEN, fields)
    queue = edited.site.queue("vip")
    assert queue.requires == {"english": 3}
    assert [(s.after_s, s.min_level) for s in queue.steps] == [(0, 5), (30, 3)]
    assert (queue.sl_seconds, queue.sl_target, queue.max_wait_s, queue.overflow_to) == (15, 0.9, 120, "accounting")
    assert "steps = [{after_s = 0, min_level = 5}, {after_s = 30, min_level = 3}]" in edited.text
    assert '[[hotlines]]\nnumber = "+18005550100"' in edited.text  # the next section still starts cleanly


def test_queue_refusals_name_the_field() -> None:
    """An overflow to nowhere, a target above 1, a level of 6 in a step."""
    with pytest.raises(ConfigError, match=r"queues\.3\.overflow_to = 'nowhere'"):
        site_admin.add_queue(GOLDEN, {"name": "vip", "on_max_wait": "overflow", "overflow_to": "nowhere"})
    with pytest.raises(ConfigError, match=r"queues\.0\.sl_target = 2"):
        site_admin.edit_queue(GOLDEN, "tax", {"sl_target": 2})
    with pytest.raises(ConfigError, match=r"queues\.0\.steps\.0\.min_level = 6"):
        site_admin.edit_queue(GOLDEN, "tax", {"steps": [{"after_s": 0, "min_level": 6}]})


def test_removing_a_queue_in_use_is_refused_naming_its_users() -> None:
    """'accounting' takes hotline 5551's calls and tax's overflow; 'supervisor' is used by nobody and goes."""
    with pytest.raises(ConfigError, match=r"still used by hotline 5551, queue tax \(overflow\)"):
        site_admin.remove_queue(GOLDEN, "accounting")
    assert [q.name for q in site_admin.remove_queue(GOLDEN, "supervisor").site.queues] == ["tax", "accounting"]


def test_the_diff_masks_secrets() -> None:
    """A changed secret shows as a changed line, never its value."""
    edited = site_admin.edit_operator(GOLDEN, "op1001", {"secret": "brand-new-secret-1"})
    shown = site_admin.diff(GOLDEN, edited.text, "before", "after")
    assert "brand-new-secret-1" not in shown and "operator-secret-1001" not in shown
    assert site_admin.MASK in shown
    assert site_admin.diff(GOLDEN, GOLDEN) == ""


def test_the_site_view_leaves_secrets_out() -> None:
    """What the API gives the browser holds no operator secret."""
    view = site_admin.site_view(site_admin.check(GOLDEN))
    assert view["operators"][0]["sip_user"] == "op1001"
    assert all("secret" not in op for op in view["operators"])
    assert "secret" not in str(view)


def test_check_names_a_toml_syntax_error() -> None:
    """Text that is not TOML is refused as such."""
    with pytest.raises(ConfigError, match="not valid TOML"):
        site_admin.check("skills = [", Path("site.toml"))


# -- the running platform takes a new site (site.reload) and what apply writes -----------------------------------


def test_the_picture_takes_new_changed_and_removed_operators_without_losing_a_call() -> None:
    """op2001 added, op1001's levels changed, op1002 removed while on a call: kept with no skills until it ends."""
    from switchboard.picture import Picture
    from switchboard.site_reload import take_site

    picture = Picture(site_admin.check(GOLDEN))
    picture.login("op1001", 10.0)
    picture.operators["op1002"] = dataclasses.replace(picture.operators["op1002"], on_call="call-1")
    picture.queue_log.clear()
    text = site_admin.add_operator(GOLDEN, NEW_OPERATOR).text
    text = site_admin.edit_operator(text, "op1001", {"skills": {"english": 5}}).text
    site = site_admin.remove_operator(text, "op1002").site

    report = take_site(picture, site, 20.0)

    assert report == {"added": ["op2001"], "changed": ["op1001"], "removed": [], "kept_until_call_ends": ["op1002"]}
    assert picture.operators["op1001"].skills == {"english": 5} and picture.operators["op1001"].logged_in
    assert picture.operators["op1002"].skills == {} and picture.operators["op1002"].on_call == "call-1"
    assert set(picture.index.positions) == {"op1001", "op1002", "op2001"}
    assert picture.site is site
    left = {(e.queue, e.event) for e in picture.queue_log}  # op1001 no longer holds tax or accounting
    assert left == {("tax", "REMOVEMEMBER"), ("accounting", "REMOVEMEMBER")}


def test_a_new_queue_gets_its_rule_and_an_idle_removed_operator_leaves() -> None:
    """The queue's rule, wrap-up and tally are there; an operator not on a call leaves the picture at once."""
    from switchboard.picture import Picture
    from switchboard.site_reload import restart_needed, take_site

    old = site_admin.check(GOLDEN)
    picture = Picture(old)
    text = site_admin.add_queue(GOLDEN, {"name": "vip", "requires": {"english": 3}, "wrapup_s": 7}).text
    site = site_admin.remove_operator(text, "op1002").site
    report = take_site(picture, site, 5.0)
    assert report["removed"] == ["op1002"] and "op1002" not in picture.operators
    assert picture.rules["vip"].requires == {"english": 3}
    assert picture.wrapup_s["vip"] == 7.0 and "vip" in picture.tallies
    assert restart_needed(old, site) == []
    moved = site_admin.check(GOLDEN.replace("sip_port = 5060", "sip_port = 5062"))
    assert restart_needed(old, moved) == ["asterisk"]


def test_apply_writes_the_site_file_with_a_backup_and_only_changed_configs(tmp_path: Path) -> None:
    """FILE.bak holds the old text; an unchanged config is not rewritten; the admin's dialplan file is never
    touched; pjsip.conf reloads res_pjsip.so, extensions.conf pbx_config.so; asterisk.conf needs a restart."""
    from asterisk_conf.render import ADMIN_DIALPLAN, render_asterisk
    from switchboard.site_apply import modules_for, render_changes, write_site_file

    path = tmp_path / "site.toml"
    path.write_text(GOLDEN, encoding="utf-8")
    site = site_admin.check(GOLDEN, path)
    conf = tmp_path / "asterisk"
    render_asterisk(site, conf)
    (conf / ADMIN_DIALPLAN).write_text("[switchboard-admin]\n; the admin's own\n", encoding="utf-8")
    edited = site_admin.add_operator(GOLDEN, NEW_OPERATOR, path)

    backup = write_site_file(path, edited.text)
    assert backup is not None and backup.read_text(encoding="utf-8") == GOLDEN
    assert path.read_text(encoding="utf-8") == edited.text
    changed = render_changes(edited.site, conf)
    assert sorted(changed) == ["extensions.conf", "pjsip.conf"]
    assert "[op2001]" in changed["pjsip.conf"]
    assert modules_for(sorted(changed)) == (["res_pjsip.so", "pbx_config.so"], [])
    assert modules_for(["asterisk.conf", "queues.conf"]) == (["app_queue.so"], ["asterisk.conf"])
