"""Operations commands against a deployed stack in real AWS (or an embedded AWS server via ``--endpoint-url``).

``python -m ops backfill NAME --from YYYY-MM-DD --to YYYY-MM-DD [--stack dev]`` (:mod:`ops.backfill`);
``python -m sandbox backfill`` is an alias.
"""
