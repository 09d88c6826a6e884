"""api tokens and item channel

Revision ID: a061cfa3f56c
Revises: c3f1a9d27e55
Create Date: 2026-11-24 00:55:35.533186

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a061cfa3f56c'
down_revision = 'c3f1a9d27e55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.Enum('read', 'write', name='tokenscope', native_enum=False, length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name='uq_api_tokens_token_hash')
    )
    # A plain ADD COLUMN (no batch rebuild): existing items were all submitted on the site.
    op.add_column('feedback', sa.Column('channel', sa.Enum('web', 'email', 'api', 'staff', name='feedbackchannel', native_enum=False, length=10), server_default='web', nullable=False))


def downgrade():
    # A plain DROP COLUMN (SQLite >= 3.35 has it), not a batch rebuild: rebuilding `feedback`
    # on SQLite would drop the full-text index's triggers (c3f1a9d27e55) with the old table.
    op.drop_column('feedback', 'channel')
    op.drop_table('api_tokens')
