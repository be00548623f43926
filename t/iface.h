/* Helpers of the iface tests (t/tap-iface, t/utun-iface): shell
 * commands, and the addresses and routes of settings. */
#ifndef ZT_T_IFACE_H
#define ZT_T_IFACE_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zt/module.h>

/* A shell command's exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* An address (IPv4 or IPv6 by its text) with its prefix length. */
static struct zt_iface_addr addr(const char *ip, unsigned prefix)
{
	struct zt_iface_addr a;

	memset(&a, 0, sizeof a);
	a.prefix = prefix;
	if (strchr(ip, ':')) {
		a.addr.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a.addr.in6.sin6_addr);
	} else {
		a.addr.in4.sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a.addr.in4.sin_addr);
	}
	return a;
}

/* A route to target/prefix, through via (NULL: on the link). */
static struct zt_iface_route route(const char *target, unsigned prefix, const char *via)
{
	struct zt_iface_route r;
	struct zt_iface_addr t = addr(target, prefix);

	memset(&r, 0, sizeof r);
	r.target = t.addr;
	r.prefix = prefix;
	if (via)
		r.via = addr(via, 0).addr;
	return r;
}

/* The test's own network namespace, with lo up; skips the test where it
 * cannot have one with /dev/net/tun and iproute2.  Needs t/tap.h. */
static void iface_test_netns(void)
{
	if (geteuid() != 0)
		skip_all("needs root (CAP_NET_ADMIN)");
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		skip_all("needs /dev/net/tun");
	if (run("ip -V > /dev/null 2>&1") != 0)
		skip_all("needs iproute2 (apt-get install iproute2)");
	if (unshare(CLONE_NEWNET) != 0)
		skip_all("cannot create a network namespace");
	run("ip link set lo up");
}

#endif
