"""Netflix Dispatch declares its tables with SQLAlchemy's declarative mapping; here the base
shares the models' MetaData, so the migrations see every table and its naming convention."""

from sqlalchemy.orm import DeclarativeBase
from sqlmodel import SQLModel


class Base(DeclarativeBase):
    metadata = SQLModel.metadata
