-- Per-region schemas and roles for the pilot regions (run once, as a superuser, on an empty
-- database; the postgres image runs it from /docker-entrypoint-initdb.d on first start).
--
-- Why a role per region: a node logs in as its region's role, which owns only its own schema,
-- so one region's node (or a leaked password) can neither read nor change another region's
-- ledger. Schema names are what `tongban node --store postgres` uses by default (`tb_<region>`,
-- regions.adapters.stores.sql.PostgresStore), and compose passes them explicitly with --schema.
--
-- The node runs `CREATE SCHEMA IF NOT EXISTS` at start-up, which PostgreSQL checks against the
-- database's CREATE privilege even when the schema exists: each role gets CREATE on the
-- database (it may make new schemas of its own, never touch others'). PostgreSQL 15 and later
-- already give PUBLIC no CREATE on `public`.
--
-- The passwords are development defaults: in production create the roles with secrets of your
-- own (ALTER ROLE ... PASSWORD) and give each node its DSN through TONGBAN_DSN.

DO $$
DECLARE
    region text;
    role text;
BEGIN
    FOREACH region IN ARRAY ARRAY['150600', '610800', '152900', '640100', '150900', '140200',
                                  '130700']
    LOOP
        role := 'tb_' || region;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', role, 'tongban-dev-' || region);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', role, role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', role);
        EXECUTE format('GRANT CREATE, CONNECT ON DATABASE %I TO %I', current_database(), role);
    END LOOP;
END
$$;
