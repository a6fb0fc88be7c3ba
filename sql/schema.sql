-- ballotflow's PostgreSQL schema. Idempotent: applying it twice changes nothing.
--
-- It names no schema: apply it with the target schema first on the search path, e.g.
--   psql "$DATABASE_URL" -c 'CREATE SCHEMA IF NOT EXISTS ballotflow' \
--        -c 'SET search_path TO ballotflow' -f sql/schema.sql
-- (the PostgreSQL sink does the same in one transaction, with `--pg-schema`).
--
-- Every table is written by the sink with upserts of absolute values keyed by the primary
-- key, and deletes of rows that no longer exist; `pipeline_progress` says up to which
-- frontier each sink worker's rows are complete. See the README, "Exactly once".

-- Registries: the current version of every record.
CREATE TABLE IF NOT EXISTS candidates (
    candidate_id       text PRIMARY KEY,
    candidate_name     text NOT NULL,
    party_affiliation  text NOT NULL,
    biography          text NOT NULL,
    campaign_platform  text NOT NULL,
    photo_url          text NOT NULL
);

CREATE TABLE IF NOT EXISTS polling_stations (
    polling_station_id text PRIMARY KEY,
    name               text NOT NULL,
    region             text NOT NULL,
    city               text NOT NULL,
    registered_voters  integer NOT NULL,
    opens_at           text NOT NULL,
    closes_at          text NOT NULL
);

CREATE TABLE IF NOT EXISTS voters (
    voter_id            text PRIMARY KEY,
    voter_name          text NOT NULL,
    date_of_birth       text NOT NULL,
    gender              text NOT NULL,
    nationality         text NOT NULL,
    registration_number text NOT NULL,
    address_street      text NOT NULL,
    address_city        text NOT NULL,
    address_state       text NOT NULL,
    address_country     text NOT NULL,
    address_postcode    text NOT NULL,
    email               text NOT NULL,
    phone_number        text NOT NULL,
    cell_number         text NOT NULL,
    picture             text NOT NULL,
    registered_age      integer NOT NULL,
    education_level     text NOT NULL,
    income_category     text NOT NULL,
    polling_station_id  text NOT NULL
);

-- The vote ledger: every vote message received, by its source position, with its current
-- verdict (`counted` or the anomaly kind). Identical copies of a message share a verdict.
CREATE TABLE IF NOT EXISTS votes (
    source_topic       text NOT NULL,
    source_partition   integer NOT NULL,
    source_offset      bigint NOT NULL,
    vote_id            text NOT NULL,
    voter_id           text NOT NULL,
    candidate_id       text NOT NULL,
    polling_station_id text NOT NULL,
    voting_time        timestamptz NOT NULL,
    voting_method      text NOT NULL,
    status             text NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
CREATE INDEX IF NOT EXISTS votes_by_status ON votes (status);

-- Results.
CREATE TABLE IF NOT EXISTS results_votes_per_candidate (
    candidate_id      text PRIMARY KEY,
    candidate_name    text NOT NULL,
    party_affiliation text NOT NULL,
    votes             bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS results_votes_per_party (
    party_affiliation text PRIMARY KEY,
    votes             bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS results_turnout_by_region (
    region            text PRIMARY KEY,
    votes             bigint NOT NULL,
    registered_voters bigint NOT NULL,
    turnout_pct       double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS results_turnout_by_city (
    region text NOT NULL,
    city   text NOT NULL,
    votes  bigint NOT NULL,
    PRIMARY KEY (region, city)
);

CREATE TABLE IF NOT EXISTS results_turnout_by_age_group (
    age_group text PRIMARY KEY,
    votes     bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS results_turnout_by_gender (
    gender text PRIMARY KEY,
    votes  bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS results_votes_by_education_party (
    education_level   text NOT NULL,
    party_affiliation text NOT NULL,
    votes             bigint NOT NULL,
    PRIMARY KEY (education_level, party_affiliation)
);

CREATE TABLE IF NOT EXISTS results_turnout_by_hour (
    hour_start timestamptz PRIMARY KEY,
    votes      bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS results_top_polling_stations (
    rank               integer PRIMARY KEY,
    polling_station_id text NOT NULL,
    votes              bigint NOT NULL
);

-- Anomalies: per-vote verdicts, rate spikes and over-turnout. `anomaly_id` is the
-- finding's identity (its kind and every identifying column, joined with '/'); `observed`,
-- `expected` and `score` change as late votes arrive.
CREATE TABLE IF NOT EXISTS anomalies (
    anomaly_id         text PRIMARY KEY,
    kind               text NOT NULL,
    vote_id            text,
    voter_id           text,
    polling_station_id text,
    window_start       timestamptz,
    voting_time        timestamptz,
    candidate_id       text,
    region             text,
    observed           bigint,
    expected           double precision,
    score              double precision
);
-- Schemas created before the window and turnout findings.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS region text;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS observed bigint;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS expected double precision;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS score double precision;

-- One row per data-quality rule, kept current (see pipelines/election/quality.rs).
CREATE TABLE IF NOT EXISTS data_quality (
    "check"  text PRIMARY KEY,
    passed   boolean NOT NULL,
    observed double precision NOT NULL,
    expected double precision NOT NULL,
    detail   text NOT NULL
);

-- Rejected input records (files have partition 0 and the line number as offset).
CREATE TABLE IF NOT EXISTS dead_letters (
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    reason           text NOT NULL,
    detail           text NOT NULL,
    payload          text NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- One row per sink and worker: its rows are those of every input time before `frontier`
-- (NULL: the input is complete), and reflect at most the input up to `positions`
-- (`{"topic/partition": next offset}`). A commit too big for one transaction is written in
-- several: until its last, `writing_frontier` says which frontier some rows already reflect
-- (9223372036854775807: the complete input), and is NULL again after it. `job` describes
-- the job that wrote them; a different job starts the schema afresh.
CREATE TABLE IF NOT EXISTS pipeline_progress (
    sink         text NOT NULL,
    job          text NOT NULL,
    worker       integer NOT NULL,
    workers      integer NOT NULL,
    frontier     bigint,
    positions    jsonb NOT NULL,
    committed_at timestamptz NOT NULL,
    PRIMARY KEY (sink, worker)
);
ALTER TABLE pipeline_progress ADD COLUMN IF NOT EXISTS writing_frontier bigint;
