"""ETL steps run by the EtlPipeline state machine (``handlers.etl.<step>.handler``).

ingest (claim the object version, plan byte-range partitions) -> validate -> transform (per partition) ->
output (cross-partition duplicates by key windows, stream rows.csv, merge aggregates, manifest last) |
on_failure (ledger FAILED; the state machine then dead-letters). No step holds more than one partition.
Payloads between steps are S3 keys and byte ranges, never data; their types and the step list are in
``contract.py``. Datasets live in ``datasets/``; the bounded-memory parts in ``dedupe.py`` (key windows),
``aggregates.py`` (mergeable statistics), ``csvout.py`` (lossless CSV) and ``gzipped.py`` (compressed input).
"""
