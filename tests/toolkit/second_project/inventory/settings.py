import os

from sqlalchemy.engine import URL, make_url


def database_url() -> URL:
    return make_url(os.environ["INVENTORY_DATABASE_URL"]).set(drivername="postgresql+asyncpg")
