"""Type comparisons behind the rename questions and the narrowing warnings."""

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from migration_toolkit.autogen.types import base_name, compatible, narrows

WIDER = [
    (sa.VARCHAR(255), AutoString(500)),
    (sa.VARCHAR(255), sa.Text()),
    (sa.SmallInteger(), sa.Integer()),
    (sa.Integer(), sa.BigInteger()),
    (sa.Numeric(10, 2), sa.Numeric(12, 2)),
    (sa.VARCHAR(40), sa.String()),
]
NARROWER = [
    (sa.VARCHAR(500), AutoString(255)),
    (sa.Text(), sa.VARCHAR(80)),
    (sa.BigInteger(), sa.Integer()),
    (sa.Numeric(12, 2), sa.Numeric(12, 1)),
    (sa.VARCHAR(40), sa.Integer()),
    (sa.DateTime(), sa.Date()),
]


@pytest.mark.parametrize(("old", "new"), WIDER)
def test_widening_is_safe(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    assert not narrows(old, new)


@pytest.mark.parametrize(("old", "new"), NARROWER)
def test_narrowing_is_caught(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    assert narrows(old, new)


def test_rename_candidates_share_a_family() -> None:
    assert compatible(sa.VARCHAR(255), AutoString(255))
    assert compatible(sa.Integer(), sa.BigInteger())
    assert not compatible(sa.VARCHAR(255), sa.Integer())


def test_the_question_names_the_base_type() -> None:
    assert base_name(AutoString(255)) == "VARCHAR"
    assert base_name(sa.DateTime(timezone=True)) == "TIMESTAMP WITH TIME ZONE"
