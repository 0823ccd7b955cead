"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.database import get_session

SessionDep = Annotated[AsyncSession, Depends(get_session)]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="rows in one page")]
