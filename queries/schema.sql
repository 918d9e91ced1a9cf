-- The warehouse's tables. Every log row lands in one of these, or in `malformed` with its reason.
CREATE TABLE IF NOT EXISTS predictions (
    ts              TIMESTAMP NOT NULL,   -- UTC
    model           VARCHAR NOT NULL,
    version         VARCHAR NOT NULL,
    request_id      VARCHAR NOT NULL,
    environment     VARCHAR NOT NULL,     -- default 'production'
    variant         VARCHAR NOT NULL,     -- champion | canary | shadow | blue | green; default 'champion'
    prediction      VARCHAR,              -- as logged (class, number or text)
    prediction_num  DOUBLE,               -- the prediction when it is a number
    score           DOUBLE,               -- probability or confidence
    latency_ms      DOUBLE,
    is_error        BOOLEAN NOT NULL,     -- status >= 500 / 'error', or a non-empty `error`
    error           VARCHAR,
    input_tokens    BIGINT,
    output_tokens   BIGINT,
    cost_usd        DOUBLE,
    attrs           JSON,                 -- features and segment columns, flattened into one object
    source          VARCHAR
);
CREATE TABLE IF NOT EXISTS labels (
    request_id  VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    label_num   DOUBLE,
    ts          TIMESTAMP NOT NULL,
    source      VARCHAR
);
CREATE TABLE IF NOT EXISTS deployments (
    ts           TIMESTAMP NOT NULL,
    model        VARCHAR NOT NULL,
    version      VARCHAR NOT NULL,
    environment  VARCHAR NOT NULL,
    strategy     VARCHAR,   -- direct | canary | blue-green | shadow
    traffic_pct  DOUBLE,
    action       VARCHAR,   -- deploy | promote | canary-step | abort | rollback | switch | shadow-start | shadow-stop
    actor        VARCHAR,
    reason       VARCHAR,
    source       VARCHAR
);
CREATE TABLE IF NOT EXISTS malformed (
    source    VARCHAR NOT NULL,
    location  VARCHAR NOT NULL,   -- line number, or row number for Parquet
    reason    VARCHAR NOT NULL,
    raw       VARCHAR
);
-- Where each log file was read up to, so a persisted warehouse resumes instead of reading history again.
CREATE TABLE IF NOT EXISTS read_cursors (
    path      VARCHAR PRIMARY KEY,
    "offset"  BIGINT NOT NULL,
    line_no   BIGINT NOT NULL,
    size      BIGINT NOT NULL,
    mtime_ns  BIGINT NOT NULL,
    header    BLOB
);
