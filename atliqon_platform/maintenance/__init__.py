"""Delta operations as jobs: OPTIMIZE and VACUUM of every table, RESTORE of one table."""
