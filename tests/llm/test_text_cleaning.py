"""The one text-cleaning function: control characters out, everything a person writes kept."""

import pytest

from llm.services.common import control_characters_strip


@pytest.mark.parametrize("text, multiline, cleaned", [
    ("  Broken\x00 stove\x07\x1b\x7f  ", True, "Broken stove"),
    ("line one\r\nline two\rstill two\n\tindented", True, "line one\nline twostill two\n\tindented"),
    ("a subject\nwith\ttabs\x0b", False, "a subjectwithtabs"),
    ("🔥🏕️ مرحبا \u202eolleh", True, "🔥🏕️ مرحبا \u202eolleh"),
    ("\x00\x01 \n ", True, ""),
])
def test_control_characters_go_and_the_rest_stays(text, multiline, cleaned):
    assert control_characters_strip(text, multiline=multiline) == cleaned
