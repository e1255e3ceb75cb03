"""Evidence: who posted a mention, each revision's screenshot, printed incident records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentions') as batch:
        batch.add_column(sa.Column('author', sa.Text(), nullable=True))
    with op.batch_alter_table('revisions') as batch:
        batch.add_column(sa.Column('screenshot_path', sa.Text(), nullable=True))
        batch.add_column(sa.Column('screenshot_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('screenshot_note', sa.Text(), nullable=True))
    op.create_table('incident_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_incident_records_mention_id', 'incident_records', ['mention_id'])


def downgrade() -> None:
    op.drop_index('ix_incident_records_mention_id', table_name='incident_records')
    op.drop_table('incident_records')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch "move and copy" would drop
    # and recreate tables that others reference, which foreign keys (on) refuse.
    for column in ('screenshot_note', 'screenshot_sha256', 'screenshot_path'):
        op.drop_column('revisions', column)
    op.drop_column('mentions', 'author')
