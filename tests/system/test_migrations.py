"""The database the migrations build is the one the models describe (a missing migration fails here)."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes are not compared; they are created by 0002
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
