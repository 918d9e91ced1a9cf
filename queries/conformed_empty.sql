-- What a conform query gives over no file at all, for a branch of a kind's view with nothing to read (no Parquet log
-- in place, none clean, no lake): the contract's columns typed as the conform query types them (the kind's typed
-- skeleton file, {skeleton}), no row, and no reason. Most of a kind's six branches are empty on most stores; the
-- conform query over an empty file was still bound and planned in full by every query over the kind (a third of
-- planning the Overview's query at 10M rows). The same columns and types: tests/test_store_views.py.
SELECT *, CAST(NULL AS VARCHAR) AS _reject FROM read_parquet({skeleton})
