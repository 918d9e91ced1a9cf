-- How a log's `ts` is read: the one definition, which the conform queries call (rows read into the store,
-- Parquet logs in place, lakes); `rollup_sources.conform_ts` reads the same for the `rollup` command and Spark.
-- ISO-8601 text or a timestamp (zone-less: UTC); else a number, or the text of one, since the epoch in the
-- unit its magnitude gives (below 1e11 seconds, 1e14 milliseconds, 1e17 microseconds, else nanoseconds), as
-- the vendor readers take times (`sources/readers/_common.parse_time`). A whole number is converted exactly (a
-- nanosecond count has 19 digits, past what a double holds), a fraction to the nearest microsecond. Anything
-- else, a value out of range included, is NULL: the row is set aside as "ts is not a timestamp", never an error
-- that would cost the other rows of its chunk.
CREATE OR REPLACE MACRO epoch_whole_us(i) AS CASE
    WHEN i IS NULL OR i = -9223372036854775808 THEN NULL
    WHEN abs(i) < 100000000000 THEN i * 1000000
    WHEN abs(i) < 100000000000000 THEN i * 1000
    WHEN abs(i) < 100000000000000000 THEN i
    WHEN i >= 0 THEN i // 1000
    ELSE (i - 999) // 1000
END;
-- (nanoseconds as a double are whole numbers, every double past 2^53 is: converted as one, exactly, not divided)
CREATE OR REPLACE MACRO epoch_fraction_us(f) AS CASE
    WHEN NOT isfinite(f) THEN NULL
    WHEN abs(f) >= 1e17 THEN epoch_whole_us(TRY_CAST(f AS BIGINT))
    ELSE TRY_CAST(floor(CASE WHEN abs(f) < 1e11 THEN f * 1e6 WHEN abs(f) < 1e14 THEN f * 1e3 ELSE f END + 0.5) AS BIGINT)
END;
CREATE OR REPLACE MACRO epoch_text_us(t) AS CASE
    WHEN regexp_full_match(trim(t), '[+-]?[0-9]+') THEN epoch_whole_us(TRY_CAST(trim(t) AS BIGINT))
    ELSE epoch_fraction_us(TRY_CAST(t AS DOUBLE))
END;
-- The written forms the cast does not read (`rollup_sources._written` reads the same): Python logging's `asctime`
-- (`2026-11-30 10:15:00,123`, a comma before the milliseconds), a web server's access-log time (nginx's and
-- Apache's `$time_local`: `30/Nov/2026:10:15:00 +0000`) and an HTTP or e-mail date (`Mon, 30 Nov 2026 10:15:00
-- GMT`; the weekday is not checked). Each with no zone is UTC, as ISO text is.
-- (rebuilt as ISO text and cast, so a day the month has not, 31 Nov, is no time: strptime would roll it over)
CREATE OR REPLACE MACRO month_number(b) AS
    list_position(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'], b);
CREATE OR REPLACE MACRO dated_instant(p) AS CASE
    WHEN month_number(p.b) > 0
        THEN TRY_CAST(p.y || '-' || lpad(month_number(p.b)::VARCHAR, 2, '0') || '-' || p.d || ' ' || p.hms || p.z
                      AS TIMESTAMPTZ)
END;
-- ISO text with a lowercase `t` or `z`, which RFC 3339 allows and the cast refuses, is read as its upper case.
CREATE OR REPLACE MACRO written_instant(t) AS CASE
    WHEN regexp_full_match(trim(t), '[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)?')
        THEN TRY_CAST(upper(trim(t)) AS TIMESTAMPTZ)
    WHEN regexp_matches(t, '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]')
        THEN TRY_CAST(regexp_replace(t, ',', '.') AS TIMESTAMPTZ)
    ELSE dated_instant(regexp_extract(regexp_replace(regexp_replace(trim(t), '^[A-Za-z]{3}, ', ''), ' (GMT|UTC)$',
                                                     ' +0000'),
                                      '^([0-9]{2})[/ ]([A-Z][a-z]{2})[/ ]([0-9]{4})[: ]([0-9]{2}:[0-9]{2}:[0-9]{2}) ([+-][0-9]{4})$',
                                      ['d', 'b', 'y', 'hms', 'z']))
END;
-- (a CASE, not coalesce: DuckDB evaluates a CASE branch for its rows alone and reads the repeated cast once, so a
-- column of ISO text costs what the cast alone does; coalesce cost twice as much)
CREATE OR REPLACE MACRO log_instant(x) AS CASE
    WHEN TRY_CAST(x AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST(x AS TIMESTAMPTZ) AT TIME ZONE 'UTC'
    ELSE coalesce(make_timestamp(epoch_text_us(TRY_CAST(x AS VARCHAR))),
                  written_instant(TRY_CAST(x AS VARCHAR)) AT TIME ZONE 'UTC')
END;
