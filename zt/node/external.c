/* The node's external addresses as NAT helpers (modules of kind nat)
 * report them: one state per helper, kept on the main loop, shown by the
 * api (/status) and advertised (zt_core_external_addrs).  See <zt/nat.h>. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core.h"

static struct zt_nat_mapping *external_find(struct zt_core *c, const char *helper)
{
	for (unsigned i = 0; i < c->n_externals; i++)
		if (strcmp(c->externals[i].helper, helper) == 0)
			return &c->externals[i];
	return NULL;
}

int zt_core_external_set(struct zt_core *c, const struct zt_nat_mapping *m)
{
	struct zt_nat_mapping *slot = external_find(c, m->helper);

	if (!slot) {
		if (c->n_externals >= ZT_NAT_MAX)
			return -ENOSPC;
		slot = &c->externals[c->n_externals++];
	}
	*slot = *m;
	slot->helper[sizeof slot->helper - 1] = '\0';
	slot->protocol[sizeof slot->protocol - 1] = '\0';
	slot->state[sizeof slot->state - 1] = '\0';
	return 0;
}

void zt_core_external_clear(struct zt_core *c, const char *helper)
{
	struct zt_nat_mapping *slot = external_find(c, helper);

	if (!slot)
		return;
	*slot = c->externals[--c->n_externals];
}

size_t zt_core_externals(const struct zt_core *c, struct zt_nat_mapping *out, size_t max)
{
	for (unsigned i = 0; i < c->n_externals && i < max; i++)
		out[i] = c->externals[i];
	return c->n_externals;
}

static bool external_mapped(const struct zt_core *c, const struct zt_nat_mapping *m)
{
	return strcmp(m->state, "mapped") == 0 && m->external.sa.sa_family != AF_UNSPEC &&
	       (!m->lease_end || m->lease_end > zt_core_now(c));
}

size_t zt_core_external_addrs(const struct zt_core *c, union zt_sockaddr *out, size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < c->n_externals; i++) {
		const struct zt_nat_mapping *m = &c->externals[i];
		bool seen = false;

		if (!external_mapped(c, m))
			continue;
		for (size_t k = 0; k < n && k < max; k++)
			seen = seen || zt_inetaddr_equal(&out[k], &m->external, true);
		if (seen)
			continue;
		if (n < max)
			out[n] = m->external;
		n++;
	}
	return n;
}

uint16_t zt_core_udp_port(const struct zt_core *c)
{
	for (unsigned t = 0; t < c->n_transports; t++) {
		const struct zt_transport_ref *tr = &c->transports[t];
		union zt_sockaddr locals[16];

		if (!tr->zi || strcmp(zt_inst_module(tr->zi)->name, "udp") != 0 || !tr->ops->locals)
			continue;
		if (tr->ops->locals(tr->state, locals, 16) > 0)
			return ntohs(locals[0].in4.sin_port);   /* same offset in sin6 */
	}
	return 0;
}

#define ZT_LISTENING_MS 10000

static void external_listening_refresh(struct zt_core *c, int64_t now)
{
	struct zt_status st;

	if (c->listening_at && now - c->listening_at >= 0 && now - c->listening_at < ZT_LISTENING_MS)
		return;
	zt_core_status(c, &st);
	c->n_listening = st.n_listening < 16 ? st.n_listening : 16;
	memcpy(c->listening, st.listening, c->n_listening * sizeof c->listening[0]);
	c->listening_at = now;
}

static bool external_is_local(const struct zt_core *c, const union zt_sockaddr *a)
{
	for (size_t i = 0; i < c->n_listening; i++)
		if (zt_inetaddr_equal(&c->listening[i], a, true))
			return true;
	return false;
}

/* Compare the IPv4 surface reports: two reporters that see one address
 * at different ports mean a mapping per destination. */
static const char *external_classify(const struct zt_core *c, const struct zt_surface **x,
				     const struct zt_surface **y)
{
	int64_t now = zt_core_now(c);
	const char *type = "unknown";

	for (unsigned i = 0; i < 16; i++) {
		const struct zt_surface *a = &c->surface[i];

		if (!a->reporter || a->addr.sa.sa_family != AF_INET || now - a->at >= ZT_SURFACE_TTL_MS)
			continue;
		if (external_is_local(c, &a->addr))
			return "none";
		for (unsigned k = i + 1; k < 16; k++) {
			const struct zt_surface *b = &c->surface[k];

			if (!b->reporter || b->addr.sa.sa_family != AF_INET || now - b->at >= ZT_SURFACE_TTL_MS ||
			    !zt_inetaddr_equal(&a->addr, &b->addr, false))
				continue;
			*x = a, *y = b;
			if (a->addr.in4.sin_port != b->addr.in4.sin_port)
				return "endpoint-dependent";
			type = "endpoint-independent";
		}
	}
	return type;
}

/* What an operator can do about a symmetric NAT: nothing when a helper's
 * mapping is what peers reach us at (zt_core_external_addrs). */
static const char *external_nat_hint(const struct zt_core *c, const char *type)
{
	if (strcmp(type, "endpoint-dependent") != 0)
		return "";
	if (zt_core_external_addrs(c, NULL, 0) > 0)
		return ": symmetric, peers reach us at a NAT helper's mapping";
	return ": symmetric, direct paths need a NAT helper (zt-nat(7)) on one side";
}

void zt_core_nat_classify(struct zt_core *c)
{
	const struct zt_surface *x = NULL, *y = NULL;
	const char *type;
	char a[ZT_INETADDR_TEXT_MAX], b[ZT_INETADDR_TEXT_MAX];

	external_listening_refresh(c, zt_core_now(c));
	type = external_classify(c, &x, &y);

	if (c->nat_type && strcmp(c->nat_type, type) == 0)
		return;
	c->nat_type = type;
	if (!x) {
		if (strcmp(type, "unknown") != 0)
			zt_logf(ZT_LOG_INFO, "NAT: %s (peers see us at a local address)", type);
		return;
	}
	zt_inetaddr_to_text(&x->addr, a, sizeof a);
	zt_inetaddr_to_text(&y->addr, b, sizeof b);
	zt_logf(ZT_LOG_INFO, "NAT: %s (%010llx sees us at %s, %010llx at %s)%s", type,
		(unsigned long long)x->reporter, a, (unsigned long long)y->reporter, b,
		external_nat_hint(c, type));
}

const char *zt_core_nat_type(const struct zt_core *c)
{
	return c->nat_type ? c->nat_type : "unknown";
}
