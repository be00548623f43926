ZT_TEST_STORE=postgres; export ZT_TEST_STORE
. "$srcdir/t/controller-rules-source.sh"
