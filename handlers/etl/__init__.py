"""ETL steps run by the EtlPipeline state machine (``handlers.etl.<step>.handler``).

ingest (claim the object version, plan byte-range partitions) -> validate -> transform (per partition) ->
output (assemble, publish, manifest last) | on_failure (ledger FAILED; the state machine then dead-letters).
Payloads between steps are S3 keys and byte ranges, never data; their types and the step list are in
``contract.py``. Datasets live in ``datasets/``.
"""
