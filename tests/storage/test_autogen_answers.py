"""The rename= syntax and who answers the questions."""

import pytest

from migration_toolkit.autogen.answers import Answers, Rename, parse_renames
from migration_toolkit.errors import UserFacingError


def test_columns_and_tables_parse() -> None:
    assert parse_renames("author.name:full_name, author:writer") == [
        Rename("author", "name", "full_name", column=True),
        Rename("author", "author", "writer", column=False),
    ]
    assert parse_renames("") == []


@pytest.mark.parametrize("text", ["author.name", "author.name:", "a.b.c:d", "author name:x"])
def test_malformed_entries_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(UserFacingError, match=r'rename="author.name:full_name"'):
        parse_renames(text)


def test_given_answers_win_and_are_tracked() -> None:
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question)
        return False

    given = Rename("author", "name", "full_name", column=True)
    unused = Rename("book", "title", "heading", column=True)
    answers = Answers(given=[given, unused], ask=ask)
    assert answers.decide(given, "q1")
    assert not answers.decide(Rename("author", "bio", "about", column=True), "q2")
    assert asked == ["q2"]
    assert answers.unused() == [unused]


def test_nobody_to_ask_means_no() -> None:
    answers = Answers(given=[], ask=None)
    assert not answers.decide(Rename("author", "name", "full_name", column=True), "q")
