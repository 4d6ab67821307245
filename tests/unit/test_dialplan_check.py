"""The admin's dialplan check: what it refuses (with the line) and what it lets through; it never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asterisk_conf import variables
from asterisk_conf.applications import APPLICATIONS, parse_core_show_applications
from asterisk_conf.dialplan_check import MAX_CHARS, Problem, check_dialplan, context_names
from asterisk_conf.dialplan_parse import blank_comments, parse_dialplan
from asterisk_conf.render import render_files
from switchboard.config import load_site

GOLDEN_SITE = Path(__file__).with_name("golden") / "site.toml"
HEAD = "[switchboard-admin]\nexten => s,1,NoOp(start)\n"  # line 1 and 2; the line under test is line 3


def problems_of(line: str) -> list[str]:
    """The messages for one priority line appended to a good context, as 'line N: ...'."""
    return [str(p) for p in check_dialplan(HEAD + line + "\n")]


def refused(line: str, fragment: str) -> None:
    found = problems_of(line)
    assert any(p.startswith("line 3: ") and fragment in p for p in found), found


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_files(load_site(GOLDEN_SITE), Path("/srv/switchboard/asterisk"))


# --- what passes ---


def test_the_rendered_admin_template_passes(rendered: dict[str, str]) -> None:
    """The admin file as the platform renders it is accepted as it is."""
    assert check_dialplan(rendered["extensions_admin.conf"]) == []


def test_the_platform_contexts_parse_without_a_syntax_problem(rendered: dict[str, str]) -> None:
    """The platform's own contexts (its [general], [globals] and #include cut off) raise only the name refusal."""
    text = rendered["extensions.conf"]
    body = text[text.index(f"[{variables.CTX_INBOUND}]") : text.index("#include")]
    found = check_dialplan(body, platform_contexts=[])
    assert found and all("names are the platform's" in p.message for p in found), found


GOOD = """\
; the admin's own contexts
[switchboard-admin]
exten => s,1,NoOp(Switchboard admin context)
 same => n(menu),Background(hello-world)
 same => n,WaitExten(5)
exten => _1XX,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})},30,t)
 same => n,Hangup()
exten => 200,hint,PJSIP/op1001
exten => 200,1,Dial(PJSIP/op1001&PJSIP/op1002,20)
exten => 300,1,Set(DEST=${FILTER(0-9,${CALLERID(num)})})
 same => n,Dial(PJSIP/${DEST:1},20)
 same => n,GotoIf($[${LEN(${DEST})} > 3]?menu)
exten => 301,1,AGI(agi://127.0.0.1:4573/route,${EXTEN})
 same => n,AGI(${SWITCHBOARD_AGI}/route)
 same => n,Set(CDR(userfield)=admin\\;note)
 same => n,ExecIfTime(08:00-18:00,mon-fri,*,*?Playback(hello-world))
exten => i,1,Playback(pbx-invalid)
include => night-service
include => switchboard-operators
ignorepat => 9
;-- a block comment
   over two lines --;

[switchboard-admin-hours](!)
exten => t,1,Hangup()

[night-service](switchboard-admin-hours)
exten => s,1,Playback(closed)
"""


def test_a_rich_admin_dialplan_passes() -> None:
    """Patterns, labels, hints, filtered caller data, FastAGI, templates, includes and comments all pass."""
    assert check_dialplan(GOOD) == []


@pytest.mark.parametrize(
    "line",
    [
        "exten => 5,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})})",
        "exten => 5,1,Dial(PJSIP/${FILTER(a-zA-Z0-9_.+*#-,${CALLERID(num)})})",
        "exten => 5,1,Dial(PJSIP/${FILTER(0-9,${EXTEN:1})}@trunk)",
        "exten => 5,1,Set(X=${EXTEN})",  # caller data may be kept, only not dialled
        "exten => 5,1,Playback(${EXTEN})",
        "exten => 5,1,Queue(${EXTEN})",  # a queue name, never a device
        "exten => 5,1,Verbose(1,the shells are on the beach)",  # 'shell' without a call
        "exten => 5,1,MixMonitor(/tmp/x.wav,b)",
        "exten => 5,1,NoOp(a \\(parenthesis)",
        "exten => 5,1,NOOP(any case)",
        "exten => 5,1,Hangup",
        "exten => 5 , 1 , NoOp(spaces)",
    ],
)
def test_accepted_lines(line: str) -> None:
    """Lines an admin may write."""
    assert problems_of(line) == []


# --- what is refused, with its line ---


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("exten => 5,1,System(rm -rf /)", "System() is refused: it runs a shell command on the server"),
        ("exten => 5,1,system(id)", "is refused: it runs a shell command on the server"),
        ("exten => 5,1,TrySystem(id)", "TrySystem() is refused"),
        ("exten => 5,1,Set(X=${SHELL(id)})", "SHELL() is refused"),
        ("exten => 5,1,Set(X=${ShElL(id)})", "SHELL() is refused"),
        ("exten => 5,1,Set(X=${CUT(${LEN(${shell(id)})},x,1)})", "SHELL() is refused"),
        ("exten => 5,1,GotoIf($[${SHELL(id)} = 1]?x)", "SHELL() is refused"),
        ("exten => 5,1,Set(X=SHELL(id))", "SHELL() is refused"),
        ("exten => 5,1,Set(X=SH\\ELL(id))", "SHELL() is refused"),
        ("exten => 5,1,Set(X=${FILE(/etc/passwd)})", "FILE() is refused"),
        ("exten => 5,1,Set(FILE(/tmp/x)=y)", "FILE() is refused"),
        ("exten => 5,1,NoOp(${${X}})", "a name built at run time"),
        ("exten => 5,1,NoOp(${SH${E}LL(id)})", "a name built at run time"),
        ("exten => 5,1,Set(${X}=1)", "Set() of a name built at run time"),
        ("exten => 5,1,ExecIfTime(*,*,*,*?System(id))", "System() is refused"),
        ("exten => 5,1,ExecIfTime(*,*,*,*?${APP})", "an application named at run time"),
        ("exten => 5,1,AGI(/bin/sh,-c,id)", "a local AGI script is a program on the server"),
        ("exten => 5,1,EAGI(script.sh)", "a local AGI script"),
        ("exten => 5,1,Queue(sales,,,,,/usr/bin/x)", "a local AGI script"),
        ("exten => 5,1,MixMonitor(x.wav,b,rm -rf /)", "a shell command run after the recording"),
        ("exten => 5,1,Playbak(hello)", "not an application this Asterisk has loaded (did you mean Playback?)"),
        ("exten => 5,1,Macro(old)", "not an application this Asterisk has loaded"),
        ("exten => 5,1,Set(X=${EVAL(${EXTEN})})", "EVAL() of caller data is refused"),
    ],
)
def test_dangerous_lines_are_refused_with_their_line(line: str, fragment: str) -> None:
    """Shell, files, run-time names, local programs and unknown applications are refused on their line."""
    refused(line, fragment)


@pytest.mark.parametrize(
    "data",
    [
        "${EXTEN}",
        "${EXTEN:1}",
        "${exten}",
        "${CALLERID(num)}",
        "${CALLERID(name)}",
        "${CALLERID(all):2:4}",
        "${CONNECTEDLINE(num)}",
        "${REDIRECTING(from-num)}",
        "${SIP_HEADER(X-Target)}",
        "${PJSIP_HEADER(read,X-Target)}",
        "${RDNIS}",
        "${DNID}",
        "${CALLERIDNUM}",
        "${CUT(EXTEN_${EXTEN},_,2)}",
    ],
)
def test_caller_data_in_dial_is_refused(data: str) -> None:
    """Each kind of caller data, raw inside Dial(), is refused with the line and the FILTER() advice."""
    refused(f"exten => _X.,1,Dial(PJSIP/{data},30)", "reaches Dial() unfiltered: the caller chooses it")
    refused(f"exten => _X.,1,Dial(PJSIP/{data},30)", "${FILTER(0-9,...)}")


@pytest.mark.parametrize(
    "app",
    ["RetryDial(x,1,2,PJSIP/${EXTEN})", "ChanSpy(PJSIP/${EXTEN})", "Transfer(PJSIP/${EXTEN})", "Bridge(${EXTEN})"],
)
def test_caller_data_in_other_dial_string_apps_is_refused(app: str) -> None:
    """Applications that take a dial string or name a channel are held to the same rule as Dial()."""
    refused(f"exten => _X.,1,{app}", "unfiltered")


def test_caller_data_set_into_a_variable_is_followed_to_dial() -> None:
    """A variable Set from caller data (through another variable too) is caller data when dialled."""
    text = HEAD + (
        " same => n,Set(FIRST=${CALLERID(num)})\n"  # line 3
        " same => n,Set(__SECOND=${FIRST:1})\n"  # line 4
        " same => n,Dial(PJSIP/${SECOND})\n"  # line 5
    )
    found = [str(p) for p in check_dialplan(text)]
    assert found == [
        "line 5: ${SECOND} reaches Dial() unfiltered: it holds caller data (set on line 4); wrap it in "
        "${FILTER(0-9,...)}"
    ]


def test_read_digits_and_gosub_arguments_are_caller_data() -> None:
    """Read() fills a variable with the caller's keys; a Gosub given caller data passes it in ${ARGn}."""
    text = HEAD + (
        " same => n,Read(CHOICE,beep,1)\n"  # line 3
        " same => n,Dial(PJSIP/${CHOICE})\n"  # line 4
        " same => n,Gosub(dial-it,s,1(${EXTEN}))\n"  # line 5
        "[dial-it]\n"
        "exten => s,1,Dial(PJSIP/${ARG1})\n"  # line 7
    )
    lines = [p.line for p in check_dialplan(text)]
    assert lines == [4, 7]


def test_a_filter_that_lets_separators_through_does_not_count() -> None:
    """FILTER() whose class allows '&' or ',' or '/' keeps the caller's data dangerous."""
    refused("exten => _X.,1,Dial(PJSIP/${FILTER(0-9&,${EXTEN})})", "lets through characters")
    refused("exten => _X.,1,Dial(PJSIP/${FILTER(!-~,${EXTEN})})", "lets through characters")
    refused("exten => _X.,1,Dial(PJSIP/${FILTER(${X},${EXTEN})})", "lets through characters")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#exec /bin/echo [evil]", "#exec is refused: it runs a shell command on the server"),
        ("  #include /etc/asterisk/other.conf", "#include is refused: the admin's file may not include other files"),
        ("#tryinclude x.conf", "#tryinclude is refused"),
        ("switch => IAX2/box/ctx", "switch => is refused"),
        ("lswitch => Realtime/ctx@extensions", "lswitch => is refused"),
    ],
)
def test_directives_and_switches_are_refused(text: str, fragment: str) -> None:
    """Files, shell commands and other servers' dialplans cannot be pulled in."""
    refused(text, fragment)


def test_a_directive_is_refused_even_inside_a_block_comment() -> None:
    """`#exec` commented out is refused too: the check must not hinge on reading comments as Asterisk does."""
    found = [str(p) for p in check_dialplan(HEAD + ";-- hidden\n  #exec /bin/id\n--;\n")]
    assert found == ["line 4: #exec is refused: it runs a shell command on the server"]


@pytest.mark.parametrize(
    "name",
    [
        variables.CTX_INBOUND,
        variables.CTX_HOTLINE,
        variables.CTX_OPERATORS,
        variables.CTX_OUTBOUND,
        variables.CTX_TRANSFER,
        variables.CTX_FAIL,
        variables.CTX_SUPERVISORS,
        "Switchboard-Hotline",
        "switchboard-feature",
        "general",
        "globals",
    ],
)
def test_contexts_named_like_the_platforms_are_refused(name: str) -> None:
    """An admin context may not replace (or add to) the hotline or any platform context."""
    found = check_dialplan(f"[{name}]\nexten => s,1,NoOp(mine)\n")
    assert [p.line for p in found] == [1], found
    assert "platform" in found[0].message


def test_the_admin_namespace_and_own_names_are_allowed() -> None:
    """switchboard-admin-* and names outside switchboard- are the admin's."""
    text = "[switchboard-admin-night]\nexten => s,1,NoOp()\n[sales-ivr]\nexten => s,1,NoOp()\n"
    assert check_dialplan(text) == []


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("exten => 5,1,NoOp(unclosed", "expected NoOp(arguments)"),
        ("exten => 5,1,NoOp(${EXTEN)", "'${' at column 19 is never closed"),
        ("exten => 5,1,Set(X=$[1 + 2)", "'$[' at column 20 is never closed"),
        ("exten => 5,1,NoOp(a)b)", "')' at column 20 closes nothing"),
        ("exten => 5,1,Set(X=${CUT(a,b,1})", "where ')' was expected"),
        ("exten => 5,1,NoOp(x\\)", "a backslash at the end of the arguments escapes nothing"),
        ("exten => 5,1,Dial,PJSIP/x", "expected Dial(arguments)"),
        ("exten => 5,1,", "no application after the priority"),
        ("exten => 5,0,NoOp()", "priorities start at 1"),
        ("exten => 6,n,NoOp()", "the first priority of an extension is a number (1), not 'n'"),
        ("exten => 5,x y,NoOp()", "priority 'x y'"),
        ("exten => 5,1(bad label),NoOp()", "label 'bad label': letters, digits"),
        ("exten => _[12,1,NoOp()", "a [ that is never closed"),
        ("exten => _X$,1,NoOp()", "'$' is not a pattern character"),
        ("exten => a b,1,NoOp()", "extension 'a b'"),
        ("exten => s,1,NoOp(again)", "priority 1 of extension s in [switchboard-admin] is already defined on line 2"),
        ("exten => 7,2,NoOp()", "extension 7 in [switchboard-admin] has no priority 1"),
        ("include => nowhere", "include => nowhere: no such context"),
        ("dial => this", "unknown statement 'dial'"),
        ("just words", "not a dialplan line"),
        ("[bad name]", "context name [bad name]"),
        ("[x](tpl)", "[x](tpl): no tpl defined above"),
        ("exten => 5,1,NoOp(\x00)", "control character"),
    ],
)
def test_syntax_problems_name_the_line(line: str, fragment: str) -> None:
    """Malformed lines are refused on their own line, with the column where it helps."""
    refused(line, fragment)


def test_same_needs_an_extension_and_lines_need_a_context() -> None:
    """`same =>` continues an `exten =>` of the same context; nothing stands before the first context."""
    found = [str(p) for p in check_dialplan("exten => s,1,NoOp()\n[a]\n same => n,NoOp()\n")]
    assert found == [
        "line 1: exten => before any [context]",
        "line 3: same => with no exten => before it in this context",
    ]


def test_an_unclosed_block_comment_names_where_it_opened() -> None:
    """A ;-- that never meets --; is named by its opening line."""
    found = check_dialplan(HEAD + "; fine\n;-- opened here\nexten => 5,1,NoOp()\n")
    assert [str(p) for p in found] == ["line 4: a ;-- block comment is never closed with --;"]


def test_comments_blank_out_as_asterisk_reads_them() -> None:
    """`;` starts a comment unless escaped, ;-- --; nest, and columns are kept."""
    assert blank_comments("a\\;b ; c", 0) == ("a\\;b    ", 0)
    assert blank_comments("x ;-- y --; z", 0) == ("x" + " " * 11 + "z", 0)
    assert blank_comments("x ;--- y", 0) == ("x       ", 0)
    assert blank_comments("in --; out ;-- in", 1) == ("       out       ", 1)


def test_problems_say_line_first_and_keep_long_text_short() -> None:
    """A problem reads 'line N: message'; the offending text is cut for display."""
    problem = Problem(7, 3, "System() is refused: it runs a shell command on the server", "x" * 500)
    assert str(problem) == "line 7: System() is refused: it runs a shell command on the server"
    assert len(problem.text) == 120


def test_an_oversized_dialplan_is_refused_whole() -> None:
    """A text over the size limit is refused before it is read."""
    found = check_dialplan("; x\n" * (MAX_CHARS // 4 + 1))
    assert len(found) == 1 and "the limit is" in found[0].message


def test_nesting_too_deep_is_refused_not_crashed() -> None:
    """Brackets nested thousands deep are refused, never a RecursionError."""
    found = check_dialplan(HEAD + "exten => 5,1,NoOp(" + "${" * 3000 + "x" + "}" * 3000 + ")\n")
    assert any("nested more than" in p.message for p in found)


def test_context_names_lists_contexts_but_not_templates() -> None:
    """The contexts a text defines, each once, templates aside."""
    assert context_names(GOOD) == ["switchboard-admin", "night-service"]


def test_priorities_are_numbered_as_pbx_config_numbers_them() -> None:
    """n continues the extension, labels ride along, a hint has no number."""
    plan = parse_dialplan(GOOD)
    s = [(p.number, p.label, p.app) for p in plan.priorities if p.extension == "s" and p.context == "switchboard-admin"]
    assert s == [(1, None, "NoOp"), (2, "menu", "Background"), (3, None, "WaitExten")]
    assert [(p.number, p.app) for p in plan.priorities if p.extension == "200"] == [(None, ""), (1, "Dial")]


def test_the_applications_list_parses_asterisk_output() -> None:
    """The list is read from `core show applications` lines (the integration test compares it with Asterisk)."""
    output = "    -= Registered Asterisk Applications =-\n        Answer: Answer a channel if ringing.\n"
    output += "  CallCompletionRequest: Request call completion service\n    -= 2 Applications Registered =-\n"
    assert parse_core_show_applications(output) == {"Answer", "CallCompletionRequest"}
    assert {"Dial", "Set", "NoOp", "ExecIfTime"} <= APPLICATIONS and "System" not in APPLICATIONS


# --- it never crashes ---

FRAGMENTS = st.sampled_from(
    [
        "[", "]", "(", ")", "{", "}", "${", "$[", "\\", ";", ";--", "--;", ",", "=>", "=", "exten", "same", "n",
        "1", "_X.", "Dial", "System", "SHELL(", "FILTER(", "EXTEN", "?", ":", "\n", " ", "#exec", "ExecIf",
        "ExecIfTime", "Set", "MSet", "Gosub", "AGI", "/", '"', "s", "hint", "(!)", "(+)", "include", "Read", "\r",
    ]
)  # fmt: skip


@settings(max_examples=400)
@given(st.lists(FRAGMENTS, max_size=60).map("".join))
def test_the_check_never_crashes_on_dialplan_shaped_text(text: str) -> None:
    """Any arrangement of dialplan tokens gives problems, never an exception; each names a line inside the text."""
    for problem in check_dialplan(text):
        assert 1 <= problem.line <= text.count("\n") + 1
        assert str(problem).startswith(f"line {problem.line}: ")


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_the_check_never_crashes_on_any_text(text: str) -> None:
    """Arbitrary text (control characters, surrogates, anything) is judged, never crashes the check."""
    assert isinstance(check_dialplan(text), list)


@settings(max_examples=200)
@given(st.sampled_from(["System", "TrySystem", "SHELL"]), st.lists(st.booleans(), min_size=9, max_size=9))
def test_shell_is_refused_in_any_case(word: str, upper: list[bool]) -> None:
    """System(), TrySystem() (applications) and SHELL() (a function) are refused in any mix of case."""
    spelled = "".join(c.upper() if up else c.lower() for c, up in zip(word, upper, strict=False))
    line = f"exten => 5,1,Set(X=${{{spelled}(id)}})" if word == "SHELL" else f"exten => 5,1,{spelled}(id)"
    refused(line, "is refused: it runs a shell command on the server")
