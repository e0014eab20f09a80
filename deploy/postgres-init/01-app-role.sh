#!/bin/sh
# Runs once, on an empty data volume, as the Postgres superuser (docker-compose.yml mounts it into
# /docker-entrypoint-initdb.d). The app connects as its own role, APP_DB_USER: it owns the shop
# database and its public schema, so migrations work, but it is no superuser (it cannot read the
# server's files, run programs or create roles). What needs a superuser is done here: the pgvector
# extension, and the analytics_reader role that ask-the-data switches to (granted with ADMIN OPTION
# so the app's migration can re-grant it to itself).
set -eu
psql -v ON_ERROR_STOP=1 -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v db="$POSTGRES_DB" \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER DATABASE :"db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
CREATE EXTENSION IF NOT EXISTS vector;
CREATE ROLE analytics_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
GRANT analytics_reader TO :"app_user" WITH ADMIN OPTION;
SQL
