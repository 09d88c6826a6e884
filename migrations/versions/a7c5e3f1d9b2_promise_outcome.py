"""promise outcome: what is promised by the date, in one line

Revision ID: a7c5e3f1d9b2
Revises: a7c3e9f15b20
Create Date: 2026-12-06 22:45:00

A promise was a date alone, and emails filled the gap with the item's title ("We promise
"Parcel left in the rain" by 12 December"). Planning now asks for the outcome too ("a
replacement with you"), at most 120 characters. Promises made before this revision keep NULL:
nobody wrote their outcome, and inventing one would promise the customer something staff never
said. Pages and emails show such a promise by its date alone, as before; moving its date asks
for the outcome.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c5e3f1d9b2"
down_revision = "a7c3e9f15b20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promise_outcome", sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("promise_outcome")
