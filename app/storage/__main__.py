"""`python -m app.storage ...`: the migration command line (cli.py), without start-up GC pauses.

Loading SQLAlchemy, Alembic, the models and every revision file creates hundreds of thousands
of long-lived objects, and the cyclic garbage collector walks them all several times while
they load: a tenth of a no-op `make migrate` (bench/README.md). None of it is garbage, so
collection stays off until revisions start to run (runner.resume_garbage_collection).
"""

import gc

gc.disable()

from app.storage.cli import main  # noqa: E402

raise SystemExit(main())
