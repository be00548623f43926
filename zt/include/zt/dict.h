/* Dictionaries (networks.md §4.1, §4.2): LF-separated key=value entries
 * with escaped values, as network configs and config request metadata
 * are carried.
 *
 * Reading works on a borrowed byte string and allocates nothing; values
 * are unescaped into caller buffers.  Writing appends to a zt_wr whose
 * capacity is the size limit; an entry that does not fit is not written
 * at all and the writer stays usable. */
#ifndef ZT_DICT_H
#define ZT_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zt/packet.h>

/* 1.14 buffer capacities, the terminating NUL included: a dictionary
 * holds at most cap - 1 bytes. */
#define ZT_DICT_CONFIG_CAP 484520
#define ZT_DICT_META_CAP 1024
#define ZT_DICT_AUTHINFO_CAP 8192

/* A dictionary: len bytes at p, up to (not including) the first NUL. */
struct zt_dict {
	const uint8_t *p;
	size_t len;
};

/* One entry: the key and the raw, still escaped, value.  has_value is
 * false for an entry without '='. */
struct zt_dict_entry {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
	bool has_value;
};

/* View len bytes at p as a dictionary; it ends at the first NUL.  0, or
 * -EMSGSIZE if that is cap or more bytes (cap 0: no limit). */
int zt_dict_init(struct zt_dict *d, const void *p, size_t len, size_t cap);

/* Entry at *off (start with 0): 1 and advances *off, 0 at the end. */
int zt_dict_next(const struct zt_dict *d, size_t *off, struct zt_dict_entry *e);

/* Unescape a raw value (§4.1) into out: the unescaped length, or
 * -ENOSPC if it needs more than cap bytes.  out may be NULL with cap 0
 * to learn the length. */
int zt_dict_unescape(const uint8_t *raw, size_t raw_len, void *out, size_t cap);

/* The first entry of key: 0, or -ENOENT. */
int zt_dict_find(const struct zt_dict *d, const char *key, struct zt_dict_entry *e);

/* Unescaped value of key into out: its length, -ENOENT or -ENOSPC. */
int zt_dict_get(const struct zt_dict *d, const char *key, void *out, size_t cap);

/* String value: at most cap - 1 bytes (longer values are cut, as 1.14
 * does), then a NUL; returns the bytes copied or -ENOENT.  cap >= 1. */
int zt_dict_get_str(const struct zt_dict *d, const char *key, char *out, size_t cap);

/* Hex integers, read leniently (§4.2): optional "0x", upper or lower case,
 * any number of digits up to the first other byte, saturating; i64 also
 * takes a leading '-'.  0, or -ENOENT if absent or empty. */
int zt_dict_get_u64(const struct zt_dict *d, const char *key, uint64_t *v);
int zt_dict_get_i64(const struct zt_dict *d, const char *key, int64_t *v);

/* Boolean: true iff the value starts with '1', 't' or 'T'; dflt if the
 * key is absent or its value empty. */
bool zt_dict_get_bool(const struct zt_dict *d, const char *key, bool dflt);

/* Parse a hex integer as the getters do (len bytes at s); false if it
 * has no value (empty). */
bool zt_dict_parse_u64(const uint8_t *s, size_t len, uint64_t *v);
bool zt_dict_parse_i64(const uint8_t *s, size_t len, int64_t *v);

/* ---- writing ---- */

/* Bytes that key=value takes when appended to a dictionary of cur_len
 * bytes (the LF separator included). */
size_t zt_dict_entry_len(size_t cur_len, const char *key, const void *val, size_t len);

/* Append key=value, escaping the value, after an LF if w is not empty.
 * 0, -EINVAL for an empty key or one with NUL, CR, LF or '=', -ENOSPC
 * if it does not fit (nothing written). */
int zt_dict_add(struct zt_wr *w, const char *key, const void *val, size_t len);
int zt_dict_add_str(struct zt_wr *w, const char *key, const char *s);
/* Exactly 16 lowercase hex digits, as 1.14 writes unsigned values. */
int zt_dict_add_u64(struct zt_wr *w, const char *key, uint64_t v);
/* Signed: as u64 when non-negative, else '-' and 16 digits of the magnitude. */
int zt_dict_add_i64(struct zt_wr *w, const char *key, int64_t v);
/* A ZeroTier address: 10 hex digits. */
int zt_dict_add_addr(struct zt_wr *w, const char *key, uint64_t addr);
/* "1" or "0". */
int zt_dict_add_bool(struct zt_wr *w, const char *key, bool v);

#endif
