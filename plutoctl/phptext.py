"""PHP's text functions that Moodle applies to values, as plutoctl must match them.

Pluto compares profile values for its rules "after trim and strip_tags"; Moodle
cleans a group's name (``PARAM_TEXT``) with ``strip_tags``; answers format names
with it. plutoctl has to land where PHP does, or it plans members, names and
changes the site would not make. Both work on characters where PHP works on bytes,
which agree: every character they look at is ASCII.

``strip_tags`` (no allowed tags) is a small state machine, not a pattern: a tag
opens at a "<" not followed by white space ("a < b" keeps it; "Year<7" loses "<7",
and a "<" at the end goes too), runs to a ">" outside quotes and outside "<"s
nested in it, and is never closed before the end if no such ">" comes; "<!--"
opens a comment that only "-->" ends, "<!" a declaration, "<?" a processing
instruction (which "?>" ends, quotes and brackets followed, and "<?xml" turns
back into a tag).
"""

from __future__ import annotations

import re

PHP_TRIM = " \t\n\r\0\x0b"
"""What PHP's ``trim`` removes by default (not the other Unicode spaces)."""

_SPACE = " \t\n\r\x0b\x0c"  # C's isspace
_TEXT, _TAG, _INSTRUCTION, _DECLARATION, _COMMENT = range(5)
_NEXT = (
    re.compile("[<>\0]"),  # text: a tag's start, a ">" closing a nested "<", a NUL
    re.compile("[<>\"']|(?<=<)[!?]"),  # a tag: nesting, its end, quotes, "<!", "<?"
    re.compile("[()>\"'lL]"),  # an instruction: brackets, its end, quotes, "<?xml"
    re.compile("[>\"'eE-]"),  # a declaration: its end, quotes, "<!--", "<!DOCTYPE"
    re.compile(">"),  # a comment: its end
)
"""Per state, the characters that can change it or what is kept; no other does."""


def trim(text: str) -> str:
    """Return ``text`` as PHP's ``trim`` leaves it."""
    return text.strip(PHP_TRIM)


def strip_tags(text: str) -> str:
    """Return ``text`` as PHP's ``strip_tags`` (with no allowed tags) leaves it."""
    if "<" not in text and "\0" not in text:
        return text  # nothing to strip: most values
    plain = _PLAIN_TAG.sub("", text)
    if "<" not in plain and "\0" not in plain:
        return plain  # editor HTML (<p>, <b>…): every "<" opened a plain tag, now gone
    return "".join(_Stripper(text).kept())


# A tag that starts with a name and ends at the first ">" outside its quoted values,
# with no "<" outside them and no "<!" or "<?" in them (<p dir="ltr">): where every "<"
# opens one, the state machine comes to removing each, as this pattern does.
_PLAIN_TAG = re.compile(
    r"""<[^\s<>!?"'](?:[^<>"']|"(?:[^"<]|<(?![!?]))*"|'(?:[^'<]|<(?![!?]))*')*>"""
)


class _Stripper:
    """PHP's ``php_strip_tags_ex`` over one text: its states, and what it keeps."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.state = _TEXT
        self.depth = 0  # "<"s opened inside a tag, each closed by a ">"
        self.quote = ""  # the quote a tag or instruction is inside
        self.last = ""  # PHP's lc: the last "<", ">", "!", quote or bracket that counts
        self.brackets = 0  # in an instruction: "(" not yet closed
        self.is_xml = False  # the tag began as "<?xml": "->" does not close it

    def kept(self) -> list[str]:
        """Return the pieces of text kept. Only the characters that can matter in the
        state at hand are visited (``_NEXT``); the text between is kept whole (outside
        tags) or passed over, so a value costs about what its tags do."""
        text, kept, end = self.text, [], len(self.text)
        step = (self._text, self._tag, self._instruction, self._declaration, self._comment)
        i = 0
        while i < end:
            state = self.state
            found = _NEXT[state].search(text, i)
            at = found.start() if found else end
            if state == _TEXT and at > i:
                kept.append(text[i:at])
            if at == end:
                break
            c = text[at]
            if step[state](at, c, text[at + 1 : at + 2]):
                kept.append(c)
            i = at + 1
        return kept

    def _text(self, i: int, c: str, after: str) -> bool:
        if c == ">" and self.depth:
            self.depth -= 1
            return False
        if c == "<" and not (after and after in _SPACE):
            self.state, self.last = _TAG, "<"
            return False
        return c != "\0"

    def _tag(self, i: int, c: str, after: str) -> bool:
        before = self.text[i - 1 : i]
        if c == "<" and not self.quote and not (after and after in _SPACE):
            self.depth += 1
        elif c == ">" and self.depth:
            self.depth -= 1
        elif c == ">" and not self.quote:
            self.last = ">"
            if not (self.is_xml and before == "-"):  # "<?xml …->" goes on
                self.state, self.quote, self.is_xml = _TEXT, "", False
        elif c in "\"'" and (not self.quote or c == self.quote):
            self.quote = "" if self.quote else c
        elif c == "!" and before == "<":
            self.state, self.last = _DECLARATION, "!"
        elif c == "?" and before == "<":
            self.state, self.brackets = _INSTRUCTION, 0
        return False

    def _instruction(self, i: int, c: str, after: str) -> bool:
        before = self.text[i - 1 : i]
        if c in "()" and self.last not in ("'", '"'):
            self.brackets += 1 if c == "(" else -1
            self.last = c
        elif c == ">" and self.depth:
            self.depth -= 1
        elif c == ">" and not self.quote:
            if not self.brackets and self.last != '"' and before == "?":
                self.state, self.quote = _TEXT, ""
        elif c in "\"'" and before != "\\":  # an escaped quote is none
            if self.last == c:
                self.last = ""
            elif self.last != "\\":
                self.last = c
            if not self.quote or c == self.quote:
                self.quote = "" if self.quote else c
        elif c in "lL" and i > 4 and self.text[i - 4 : i].lower() == "<?xm":
            self.state, self.is_xml = _TAG, True
        return False

    def _declaration(self, i: int, c: str, after: str) -> bool:
        before = self.text[i - 1 : i]
        if c == ">" and self.depth:
            self.depth -= 1
        elif c == ">" and not self.quote:
            self.state, self.quote = _TEXT, ""
        elif c in "\"'" and before != "\\" and (not self.quote or c == self.quote):
            self.quote = "" if self.quote else c
        elif c == "-" and self.text[i - 2 : i] == "!-":
            self.state = _COMMENT
        elif c in "eE" and i > 6 and self.text[i - 6 : i].lower() == "doctyp":
            self.state = _TAG
        return False

    def _comment(self, i: int, c: str, after: str) -> bool:
        if c == ">" and not self.quote and self.text[i - 2 : i] == "--":
            self.state, self.quote = _TEXT, ""
        return False
