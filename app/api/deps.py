"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.database import get_session


async def request_session(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> AsyncSession:
    """The request's session, also kept where the error handlers can read the revision with it."""
    request.state.session = session
    return session


SessionDep = Annotated[AsyncSession, Depends(request_session)]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="rows in one page")]
# Postgres integer ids: anything outside is a client mistake, not a database error.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
