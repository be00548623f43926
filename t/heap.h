/* Bytes the C tests' process holds on its heap now: glibc's count of
 * what is allocated (and the large blocks it mapped apart), or the
 * sanitizer allocator's under ASan, where glibc's malloc is not used. */
#ifndef ZT_T_HEAP_H
#define ZT_T_HEAP_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
/* the ASan runtime's (sanitizer/allocator_interface.h, which gcc does
 * not ship) */
size_t __sanitizer_get_current_allocated_bytes(void);
static inline size_t heap_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static inline size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
#endif

#endif
