"""Drafts keep how the search read a question typed in simplified characters (shown to the reviewer).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('read_as', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('read_as')
