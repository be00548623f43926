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

		if (strcmp(zt_inst_module(tr->zi)->name, "udp") != 0 || !tr->ops->locals)
			continue;
		if (tr->ops->locals(tr->state, locals, 16) > 0)
			return ntohs(locals[0].in4.sin_port);   /* same offset in sin6 */
	}
	return 0;
}
