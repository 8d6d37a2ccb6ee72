"""Drafts keep the typo corrections the search made (shown to the reviewer).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('corrections', sa.Text(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('corrections')
