# The store the controller tests run against, sourced by them:
#
#   ZT_TEST_STORE=sqlite (default) | postgres
#
#   zt_store_stanza DIR   prints the YAML flow mapping of the controller's
#                         `store:` key for the chosen store, one line, e.g.
#                         { use: sqlite, path: DIR/controller.db }.  DIR is
#                         a directory of the test's own; the same DIR gives
#                         the same database (a restart finds its data), two
#                         DIRs two databases.
#   zt_store_cleanup      stops what zt_store_stanza started (call it from
#                         the test's EXIT trap; nothing to do for sqlite).
#
# A test runs against another store through a wrapper of two lines in
# TESTS, e.g. t/controller-api-postgres.sh:
#   ZT_TEST_STORE=postgres; export ZT_TEST_STORE
#   . "$srcdir/t/controller-api.sh"
# The postgres case is t/pg.sh's: it starts a private server.
: "${ZT_TEST_STORE:=sqlite}"

zt_store_stanza()
{
	case $ZT_TEST_STORE in
	sqlite)
		printf '{ use: sqlite, path: "%s/controller.db" }\n' "$1" ;;
	postgres)
		. "$srcdir/t/pg.sh"
		zt_pg_stanza "$1" ;;
	*)
		bail "ZT_TEST_STORE=$ZT_TEST_STORE: not a store (sqlite, postgres)" ;;
	esac
}

zt_store_cleanup()
{
	case $ZT_TEST_STORE in
	postgres) command -v zt_pg_cleanup > /dev/null && zt_pg_cleanup ;;
	esac
	return 0
}
